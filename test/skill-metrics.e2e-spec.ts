import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { connected, connectSocket, type TestSocket } from './support/socket-client';
import { startTestApp, type RunningApp } from './support/test-app';

const SAMPLES = readFileSync(
  join(__dirname, 'fixtures', 'claude-code', 'hook-events.jsonl'),
  'utf8',
)
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as Record<string, unknown>);

interface Metrics {
  top_skills: Array<{
    skill_name: string;
    total_invocations: number;
    completion_rate: number | null;
    avg_duration_seconds: number | null;
  }>;
  anomalies: unknown[];
  window: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('skill metrics', () => {
  let db: TestDatabase;
  let app: RunningApp;
  const sockets: TestSocket[] = [];
  const env = () => ({ ...db.env, WS_METRICS_INTERVAL_MS: '200' });
  const metrics = async (query = '') =>
    (await (await fetch(`${app.url}/api/skills/metrics${query}`)).json()) as Metrics;

  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp(env());
    const t0 = Date.now() - 60_000;
    for (const [i, sample] of SAMPLES.entries()) {
      const res = await fetch(`${app.url}/api/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...sample, timestamp: t0 + i * 1000 }),
      });
      expect(res.status).toBe(201);
    }
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('reports invocations, completion rates and durations from the real hook events, also after a restart', async () => {
    const expected = {
      Read: { total_invocations: 1, completion_rate: 100, avg_duration_seconds: 0.042 },
      Bash: { total_invocations: 1, completion_rate: 0, avg_duration_seconds: 1 },
      'Skill:pdf': { total_invocations: 1, completion_rate: 100, avg_duration_seconds: 1.83 },
    };
    const live = await metrics();
    expect(live.window).toBe('24h');
    expect(Object.fromEntries(live.top_skills.map((r) => [r.skill_name, r]))).toMatchObject(
      expected,
    );
    expect(live.anomalies).toEqual([]);
    expect((await metrics('?limit=1')).top_skills).toHaveLength(1);
    const bad = await fetch(`${app.url}/api/skills/metrics?window=2y&limit=0`);
    expect(bad.status).toBe(400);

    await app.close();
    app = await startTestApp(env());
    const rebuilt = await metrics();
    expect(Object.fromEntries(rebuilt.top_skills.map((r) => [r.skill_name, r]))).toMatchObject(
      expected,
    );
  });

  it('sends metrics_update once per interval to subscribers only, per skill or overall', async () => {
    const all = connectSocket(app.url);
    const bash = connectSocket(app.url);
    const idle = connectSocket(app.url);
    sockets.push(all, bash, idle);
    await Promise.all([connected(all), connected(bash), connected(idle)]);
    expect(await all.emitAck('subscribe_metrics', { skill: null })).toMatchObject({
      status: 'success',
      skill: null,
    });
    expect(await bash.emitAck('subscribe_metrics', { skill: 'Bash' })).toMatchObject({
      status: 'success',
    });
    expect((await all.next('subscription_confirmed')).message.data).toEqual({ skill: null });
    expect(await bash.emitAck('subscribe_metrics', { skill: 'no spaces' })).toMatchObject({
      status: 'error',
      code: 'bad_request',
    });
    await sleep(1100);
    const updates = all.received.filter((r) => r.event === 'metrics_update');
    expect(updates.length).toBeGreaterThanOrEqual(4);
    expect(updates.length).toBeLessThanOrEqual(6);
    const gaps = updates.slice(1).map((u, i) => u.at - updates[i].at);
    expect(Math.min(...gaps)).toBeGreaterThan(100);
    expect((updates[0].message.data as Metrics).top_skills).toHaveLength(3);
    const bashUpdate = (await bash.next('metrics_update')).message.data as Metrics;
    expect(bashUpdate.top_skills.map((r) => r.skill_name)).toEqual(['Bash']);
    expect(idle.received.filter((r) => r.event === 'metrics_update')).toHaveLength(0);

    await all.emitAck('unsubscribe_metrics');
    await sleep(100);
    const count = all.received.filter((r) => r.event === 'metrics_update').length;
    await sleep(500);
    expect(all.received.filter((r) => r.event === 'metrics_update')).toHaveLength(count);
  });
});
