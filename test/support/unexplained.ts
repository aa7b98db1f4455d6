// For the differential fuzz tests: collects up to two examples of each kind of UNEXPLAINED
// disagreement (at most 16 in all), to show what each side said when the test fails.
export interface Disagreement {
  category: string;
  report: string;
  iteration: number;
}

export function unexplainedCollector(signature: (d: Disagreement) => string) {
  const examples: string[] = [];
  const perKind = new Map<string, number>();
  return {
    examples,
    onDisagreement(d: Disagreement): void {
      if (d.category !== 'UNEXPLAINED') return;
      const kind = signature(d);
      const n = perKind.get(kind) ?? 0;
      perKind.set(kind, n + 1);
      if (n < 2 && examples.length < 16) examples.push(`#${d.iteration} [${kind}]\n${d.report}`);
    },
  };
}
