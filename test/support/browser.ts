import AxeBuilder from '@axe-core/playwright';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CHROMIUM } from './chromium';

export { type Browser, CHROMIUM, CHROMIUM_ARGS, launchBrowser } from './chromium';

const ROOT = join(__dirname, '..', '..');

/**
 * Browser suites need Chromium and the built gateway (`npm run build`: dist/ and dist/web).
 * Locally, without them, the suite is skipped with a notice; under CI=true that is a failure.
 */
export function describeInBrowser(name: string, suite: () => void): void {
  const missing = [
    existsSync(CHROMIUM) ? undefined : `Chromium at ${CHROMIUM} (apt-get install -y chromium)`,
    existsSync(join(ROOT, 'dist', 'main.js')) && existsSync(join(ROOT, 'dist', 'web', 'index.html'))
      ? undefined
      : 'the built gateway (npm run build)',
  ].filter((m): m is string => m !== undefined);
  if (missing.length === 0) {
    describe(name, suite);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs ${missing.join(' and ')} (CI=true: the browser suite must run)`, () => {
        throw new Error(`missing ${missing.join(' and ')}; CI must run ${name}`);
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: needs ${missing.join(' and ')}`);
  describe.skip(name, suite);
}

/** axe on the page as it is, in light and dark: no serious or critical violations. */
export async function expectAccessible(page: Page): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    const result = await new AxeBuilder({ page }).analyze();
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(
      bad.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`),
      scheme,
    ).toEqual([]);
  }
}
