import { afterAll, beforeAll, expect, it } from 'vitest';
import { postgresBehindProxy, type ProxiedPostgres, type TestDatabase } from '../support/databases';
import { describeWithService } from '../support/services';
import type { TcpProxy } from '../support/tcp-proxy';
import { startTestApp, type RunningApp } from '../support/test-app';
import { freePort, waitFor } from '../support/wait';

const KEY = 'health-leak-admin-key-0123456789';

describeWithService('TEST_DATABASE_URL', 'public health in public words', (serverUrl) => {
  let postgres: ProxiedPostgres;
  let db: TestDatabase;
  let proxy: TcpProxy;
  let app: RunningApp;
  let redisPort = 0;

  beforeAll(async () => {
    postgres = await postgresBehindProxy(serverUrl);
    ({ db, proxy } = postgres);
    // A Redis that is not there: its client's error names the address.
    redisPort = await freePort();
    app = await startTestApp({
      DATABASE_URL: postgres.url,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      API_KEYS: KEY,
    });
  });
  afterAll(async () => {
    await app?.close();
    await postgres?.drop();
  });

  const leaks = (text: string) =>
    [
      '127.0.0.1',
      String(proxy.port),
      String(redisPort),
      'ECONNREFUSED',
      'postgres',
      'connect',
      'timeout',
    ].filter((word) => text.toLowerCase().includes(word.toLowerCase()));

  it('says only up or down per check on the public probes, with the database and Redis gone', async () => {
    const user = new URL(db.env.DATABASE_URL).username;
    await proxy.stop();
    const ready = await waitFor(
      async () => {
        const res = await fetch(`${app.url}/health/ready`);
        return res.status === 503 ? res : undefined;
      },
      10_000,
      'readiness 503',
    );
    const text = await ready.text();
    expect(leaks(text)).toEqual([]);
    expect(text).not.toContain(user);
    const body = JSON.parse(text) as { checks: Record<string, unknown> };
    expect(body.checks.database).toEqual({ status: 'down' });

    // /health without a credential: the same public words (Redis is reported `up`, as optional).
    const all = await fetch(`${app.url}/health`);
    const allText = await all.text();
    expect(leaks(allText)).toEqual([]);
    const checks = (JSON.parse(allText) as { checks?: Record<string, unknown> }).checks ?? {};
    expect(checks.redis).toEqual({ status: 'up' });

    // An admin sees the details.
    const admin = await fetch(`${app.url}/health`, { headers: { 'x-api-key': KEY } });
    const detailed = (await admin.json()) as { checks: Record<string, Record<string, unknown>> };
    expect(detailed.checks.redis).toMatchObject({ status: 'up', reachable: false });
    expect(typeof detailed.checks.redis.message).toBe('string');
    expect(detailed.checks.database.status).toBe('down');
    await proxy.start();
  });
});
