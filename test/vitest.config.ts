import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    // The default reporter, plus one plain "N passed, N failed" line for CI logs.
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 120_000,
  },
});
