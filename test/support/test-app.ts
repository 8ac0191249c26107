import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { join } from 'node:path';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/load-config';
import type { Clock } from '../../src/common/clock';
import type { AppConfig } from '../../src/config/app-config';
import { waitFor } from './wait';

export interface RunningApp {
  readonly app: NestFastifyApplication;
  readonly config: AppConfig;
  readonly url: string;
  close(): Promise<void>;
}

/** Environment for an isolated gateway: random port, quiet logs, no bridge unless asked for. */
export const BASE_TEST_ENV: Readonly<Record<string, string>> = {
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
  BRIDGE_MODE: 'off',
  // Suites fire hundreds of requests a second from one address; the limits have their own suite.
  RATE_LIMIT_READS_PER_MIN: '1000000',
  RATE_LIMIT_WRITES_PER_MIN: '1000000',
  // This machine's logs into the team ledger: its own suite turns it on.
  TEAM_LOCAL_LEDGER_INTERVAL_MS: '0',
};

/**
 * Boots the real application in-process and listens on a loopback port (random by default);
 * `clock` replaces the app's CLOCK (a TestClock moves time without sleeping).
 */
export async function startTestApp(
  env: Record<string, string>,
  port = 0,
  { clock }: { clock?: Clock } = {},
): Promise<RunningApp> {
  const config = loadConfig({ ...BASE_TEST_ENV, ...env });
  const app = await createApp(config, { clock });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  if (!address || typeof address === 'string') throw new Error('app did not bind a TCP port');
  return {
    app,
    config,
    url: `http://127.0.0.1:${address.port}`,
    close: () => app.close(),
  };
}

/**
 * A gateway that spawns the real bridge on `<dir>/claude` (state in `<dir>/state`, any free bridge
 * port), returned once the bridge is ready. `env` adds to or overrides that (an `API_KEYS` key is
 * used to ask for the status).
 */
export async function startAppWithBridge(
  dir: string,
  env: Record<string, string>,
  options: { clock?: Clock } = {},
): Promise<RunningApp> {
  const app = await startTestApp(
    {
      BRIDGE_MODE: 'spawn',
      BRIDGE_PORT: '0',
      BRIDGE_STATE_DIR: join(dir, 'state'),
      CLAUDE_CONFIG_DIR: join(dir, 'claude'),
      PATH: process.env.PATH ?? '',
      HOME: dir,
      ...env,
    },
    0,
    options,
  );
  const key = env.API_KEYS?.split(',')[0];
  await waitFor(
    async () => {
      const res = await fetch(`${app.url}/api/usage/bridge/status`, {
        headers: key ? { 'x-api-key': key } : undefined,
      });
      return (
        ((await res.json()) as { process: { state: string } }).process.state === 'ready' ||
        undefined
      );
    },
    15_000,
    'bridge ready',
  );
  return app;
}
