import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

/**
 * Unit specs live beside the code (`src/**\/*.spec.ts`); e2e and service-backed suites in `test/`.
 * SWC compiles the TypeScript so decorator metadata (Nest DI, class-validator) is emitted.
 * `VITEST_JSON_REPORT=<file>` adds a JSON report, which `.ci/run` reads for its summary line.
 */
const jsonReport = process.env.VITEST_JSON_REPORT;

export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['src/**/*.spec.ts', 'web/src/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    environment: 'node',
    globals: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites boot real apps, child processes and databases; two cores, so two at a time.
    pool: 'forks',
    maxWorkers: 2,
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
  },
});
