// Shared by the bench/*.bench.mjs suites, bench/server-load.mjs and bench/idle-memory.mjs:
// number formatting, the machine line, running tasks, the results file, and running a
// suite file on its own.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';

export function fmt(x, digits) {
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

/** The `machine: ...` line each bench prints first. */
export function machineLine(m = machineInfo()) {
  return `machine: ${m.cpu}, ${m.cores} cores, node ${m.node} (${m.platform})`;
}

/** When `moduleUrl` is the script node was started with: print the machine and run it. */
export async function runIfMain(moduleUrl, run) {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  console.log(machineLine());
  // Standalone: arguments are corpus filters (use bench/run.mjs for --time etc.).
  await run({ corpusFilter: process.argv.slice(2).filter((a) => !a.startsWith('-')) });
}

/**
 * Runs a tinybench Bench. Returns the seconds it took and each task's name and result,
 * throwing when a task did not complete (so no table is built from a failed task).
 */
export async function runTasks(bench) {
  const started = Date.now();
  await bench.run();
  const elapsed = (Date.now() - started) / 1000;
  const results = bench.tasks.map((task) => {
    const r = task.result;
    if (r.state !== 'completed') throw new Error(`task ${task.name} did not complete: ${r.state} ${r.error?.stack ?? ''}`);
    return { name: task.name, r };
  });
  return { elapsed, results };
}

/**
 * A results file as written to bench/results/: what ran, when, on what machine, how it
 * was measured (`settings`), then `body` (rows, results...).
 */
export function benchResult(name, settings, body) {
  return { bench: name, date: new Date().toISOString(), machine: machineInfo(), settings, ...body };
}

/** A tinybench suite's results file: benchResult() with the tinybench settings first. */
export function suiteResult(name, { statistic, time, warmupTime, batchBytes, ...settings }, body) {
  return benchResult(name, { statistic, timeMs: time, warmupTimeMs: warmupTime, batchBytes, tinybench: 'tinybench@6', ...settings }, body);
}

/** Writes `result` to `file` (unless options.writeResults is false) and says where. */
export function saveResult(file, result, options, log) {
  if (options.writeResults === false) return;
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${file}`);
}
