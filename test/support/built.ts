import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

/** Whether `npm run build` has made the gateway (dist/) and its dashboard (dist/web). */
export const isBuilt = (): boolean =>
  existsSync(join(ROOT, 'dist', 'main.js')) && existsSync(join(ROOT, 'dist', 'web', 'index.html'));

/**
 * Suites that run the built gateway as `npm start` does. Locally, before a build, the suite is
 * skipped with a notice; under CI=true (which builds first) a missing build is a failure.
 */
export function describeBuilt(name: string, suite: () => void): void {
  if (isBuilt()) return void describe(name, suite);
  if (process.env.CI === 'true')
    return void describe(name, () => {
      it('needs the built gateway (CI=true: npm run build comes first)', () => {
        throw new Error(`dist/ is missing; CI must build before running ${name}`);
      });
    });
  console.warn(`[skip] ${name}: needs the built gateway (npm run build)`);
  describe.skip(name, suite);
}
