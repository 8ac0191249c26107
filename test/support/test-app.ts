import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/load-config';
import type { Clock } from '../../src/common/clock';
import type { AppConfig } from '../../src/config/app-config';

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
