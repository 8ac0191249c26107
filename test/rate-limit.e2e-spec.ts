import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { describeWithService } from './support/services';
import { TcpProxy } from './support/tcp-proxy';
import { startTestApp, type RunningApp } from './support/test-app';

/** A key no earlier run used (limits shared through Redis outlive a run by a minute). */
const freshKey = () => `rl-${randomBytes(12).toString('hex')}`;

const read = (app: RunningApp, key?: string) =>
  fetch(`${app.url}/api/events?limit=1`, { headers: key ? { 'x-api-key': key } : {} });
const write = (app: RunningApp, key: string) =>
  fetch(`${app.url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ hook_event_name: 'Stop', session_id: 'rl' }),
  });

describe('REST rate limits on one instance', () => {
  const keys = [freshKey(), freshKey()];
  let db: TestDatabase;
  let app: RunningApp;
  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp({
      ...db.env,
      API_KEYS: keys.join(','),
      RATE_LIMIT_READS_PER_MIN: '5',
      RATE_LIMIT_WRITES_PER_MIN: '3',
    });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('limits reads and writes per credential; over the limit is a 429 problem with Retry-After', async () => {
    const [mine, theirs] = keys;
    for (let i = 0; i < 5; i++) expect((await read(app, mine)).status).toBe(200);
    const limited = await read(app, mine);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const problem = (await limited.json()) as { status: number; detail: string };
    expect(problem.status).toBe(429);
    expect(problem.detail).toMatch(/too many reads: at most 5 per minute for this credential/);
    // Another credential has its own budget; writes have theirs.
    expect((await read(app, theirs)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await write(app, mine)).status).toBe(201);
    expect((await write(app, mine)).status).toBe(429);
    // Probes are never limited.
    for (let i = 0; i < 10; i++) expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
  });

  it('counts requests without a credential per address', async () => {
    const open = await startTestApp({
      ...createSqliteDatabase().env,
      RATE_LIMIT_READS_PER_MIN: '2',
    });
    try {
      expect((await read(open)).status).toBe(200);
      expect((await read(open)).status).toBe(200);
      const limited = await read(open);
      expect(limited.status).toBe(429);
      expect(((await limited.json()) as { detail: string }).detail).toMatch(/for this address/);
    } finally {
      await open.close();
    }
  });
});

describeWithService('TEST_REDIS_URL', 'REST rate limits across instances (Redis)', (redisUrl) => {
  const key = freshKey();
  const spare = freshKey();
  const redis = new URL(redisUrl);
  const proxy = new TcpProxy(redis.hostname, Number(redis.port || 6379));
  let db: TestDatabase;
  const apps: RunningApp[] = [];
  beforeAll(async () => {
    db = createSqliteDatabase();
    await proxy.start();
    const env = {
      ...db.env,
      API_KEYS: `${key},${spare}`,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      RATE_LIMIT_READS_PER_MIN: '6',
    };
    apps.push(await startTestApp(env), await startTestApp(env));
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await proxy.stop();
    await db?.drop();
  });

  it('shares one budget between instances, and keeps serving (per instance) while Redis is gone', async () => {
    const [a, b] = apps;
    for (let i = 0; i < 3; i++) expect((await read(a, key)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await read(b, key)).status).toBe(200);
    expect((await read(b, key)).status).toBe(429);
    expect((await read(a, key)).status).toBe(429);

    await proxy.stop();
    // Redis is away: requests are still answered, each instance counting on its own.
    for (let i = 0; i < 6; i++) expect((await read(a, spare)).status).toBe(200);
    expect((await read(a, spare)).status).toBe(429);
    expect((await read(b, spare)).status).toBe(200);
  });
});
