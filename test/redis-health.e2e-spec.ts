import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { describeWithService } from './support/services';
import { startTestApp, type RunningApp } from './support/test-app';

type HealthBody = { details: Record<string, Record<string, unknown>> };

describeWithService('TEST_REDIS_URL', 'Redis in the health report', (redisUrl) => {
  let db: TestDatabase;
  let running: RunningApp;

  beforeAll(async () => {
    db = createSqliteDatabase();
    running = await startTestApp({ ...db.env, REDIS_URL: redisUrl });
  });
  afterAll(async () => {
    await running?.close();
    await db?.drop();
  });

  it('reports a reachable Redis', async () => {
    const res = await fetch(`${running.url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as HealthBody;
    expect(body.details.redis).toEqual({ status: 'up', configured: true, reachable: true });
  });
});

describe('an unreachable Redis', () => {
  let db: TestDatabase;
  let running: RunningApp;

  beforeAll(async () => {
    db = createSqliteDatabase();
    // Port 1 on loopback: nothing listens, connections are refused at once.
    running = await startTestApp({ ...db.env, REDIS_URL: 'redis://127.0.0.1:1' });
  });
  afterAll(async () => {
    await running?.close();
    await db?.drop();
  });

  it('is reported on /health and fails nothing; readiness does not wait on it (Redis is optional)', async () => {
    const res = await fetch(`${running.url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as HealthBody;
    expect(body.details.redis).toMatchObject({
      configured: true,
      reachable: false,
      required: false,
    });
    const ready = await fetch(`${running.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(Object.keys(((await ready.json()) as HealthBody).details)).not.toContain('redis');
  });
});
