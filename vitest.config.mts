import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

/**
 * Three tiers, all run by `npm test`, each on its own with `--project`:
 * - `unit`: specs beside the code (`src/**\/*.spec.ts`, the dashboard's `web/src/**\/*.spec.ts`)
 *   and of the hook's modules (`test/*.spec.ts`), no services, seconds (`npm run test:unit`);
 * - `e2e`: the real app, bridge, databases and sockets (`test/`), minutes (`npm run test:e2e`);
 * - `slow`: what builds or boots something large first — the container image's files, the
 *   100,000-event replay, the dashboard in Chromium (`npm run test:slow`).
 * SWC compiles the TypeScript so decorator metadata (Nest DI, class-validator) is emitted.
 * `VITEST_JSON_REPORT=<file>` adds a JSON report, which `.ci/run` reads for its summary line.
 */
const jsonReport = process.env.VITEST_JSON_REPORT;
const SLOW = [
  'test/container-image.e2e-spec.ts',
  'test/security/replay-bounds.e2e-spec.ts',
  'test/dashboard.e2e-spec.ts',
  'test/dashboard-team.e2e-spec.ts',
];

export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.spec.ts', 'web/src/**/*.spec.ts', 'test/*.spec.ts'],
        },
      },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.e2e-spec.ts'], exclude: SLOW } },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
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
