import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { describe, it } from 'vitest';

/** Debian's Chromium (Playwright's own download does not work here). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = join(__dirname, '..', '..');

/** The flags this machine needs: no sandbox as root, no GPU, and no background networking. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile (its own --user-data-dir), removed on close. */
export async function launchBrowser(
  options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'ug-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    colorScheme: options.colorScheme ?? 'light',
    viewport: options.viewport ?? { width: 1440, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

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
