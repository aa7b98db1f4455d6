// Seeded PRNG shared by the differential fuzzers (test/fuzz/*-diff.mjs).

/**
 * Seeded PRNG: xorshift32 (Marsaglia) plus a Weyl sequence, seeded through a 32-bit
 * integer hash. Only 32-bit integer arithmetic, so every machine and Node version draws
 * the same numbers for the same seed.
 * @param {number} seed
 */
export function createRng(seed) {
  let h = (seed >>> 0) ^ 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  let x = h === 0 ? 0x6d2b79f5 : h >>> 0;
  let w = Math.imul(seed | 0, 0x27d4eb2d) >>> 0;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    w = (w + 0x61c88647) >>> 0;
    return ((x >>> 0) + w) >>> 0;
  };
  return {
    /** Uniform 32-bit unsigned integer. */
    next,
    /** Integer in [0, n). */
    int: (n) => (n <= 1 ? 0 : Math.floor((next() / 4294967296) * n)),
    /** Float in [0, 1). */
    float: () => next() / 4294967296,
    /** True with probability p. */
    chance: (p) => next() / 4294967296 < p,
    /** Random element. */
    pick: (arr) => arr[Math.floor((next() / 4294967296) * arr.length)],
  };
}

/**
 * Numeric `--name value` options of a fuzz script's command line.
 * @param {string[]} argv
 * @returns {(name: string, def: number) => number}
 */
export function numberArgs(argv) {
  return (name, def) => {
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length ? Number(argv[i + 1]) : def;
  };
}
