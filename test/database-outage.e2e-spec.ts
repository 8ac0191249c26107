import { afterAll, beforeAll, expect, it } from 'vitest';
import { postgresBehindProxy, type ProxiedPostgres } from './support/databases';
import { describeWithService } from './support/services';
import type { TcpProxy } from './support/tcp-proxy';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

describeWithService('TEST_DATABASE_URL', 'readiness through a PostgreSQL outage', (serverUrl) => {
  let postgres: ProxiedPostgres;
  let proxy: TcpProxy;
  let running: RunningApp;

  beforeAll(async () => {
    postgres = await postgresBehindProxy(serverUrl);
    proxy = postgres.proxy;
    running = await startTestApp({ DATABASE_URL: postgres.url });
  });
  afterAll(async () => {
    await running?.close();
    await postgres?.drop();
  });

  it('answers 503 once the database stops, and 200 again once it is back', async () => {
    expect((await fetch(`${running.url}/health/ready`)).status).toBe(200);

    await proxy.stop();
    // The first probe after the cut already fails (the ping times out; how fast: npm run drills).
    const down = await fetch(`${running.url}/health/ready`);
    expect(down.status).toBe(503);
    expect(down.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await down.json()) as {
      detail: string;
      checks: Record<string, { status: string }>;
    };
    expect(problem.detail).toBe('failing checks: database');
    expect(problem.checks.database.status).toBe('down');
    expect(problem.checks.disk.status).toBe('up');

    // Liveness is about the process, not its dependencies.
    expect((await fetch(`${running.url}/health/live`)).status).toBe(200);

    await proxy.start();
    await waitFor(
      async () => (await fetch(`${running.url}/health/ready`)).status === 200,
      10_000,
      'ready again',
    );
  });
});
