import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresDatabase, type TestDatabase } from './support/databases';
import { describeWithService } from './support/services';
import { TcpProxy } from './support/tcp-proxy';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

describeWithService('TEST_DATABASE_URL', 'readiness through a PostgreSQL outage', (serverUrl) => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let running: RunningApp;

  beforeAll(async () => {
    db = await createPostgresDatabase(serverUrl);
    const target = new URL(db.env.DATABASE_URL);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    target.host = `127.0.0.1:${proxy.port}`;
    running = await startTestApp({ DATABASE_URL: target.toString() });
  });
  afterAll(async () => {
    await running?.close();
    await proxy?.stop();
    await db?.drop();
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
