import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { connected, connectSocket, type TestSocket } from './support/socket-client';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

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

/**
 * Posts a hook event (every client receives it) and waits for it on `client`: one socket delivers
 * in order, so whatever was sent to the client before has arrived by then.
 */
async function drainedBy(url: string, client: TestSocket): Promise<void> {
  const res = await fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hook_event_name: 'Notification', session_id: 'sentinel' }),
  });
  const { id } = (await res.json()) as { id: number };
  await waitFor(() => client.eventIds().includes(id) || undefined, 10_000, 'the sentinel event');
}

describe('skill metrics', () => {
  let db: TestDatabase;
  let app: RunningApp;
  const sockets: TestSocket[] = [];
  const env = () => ({ ...db.env, WS_METRICS_INTERVAL_MS: '200' });
  const drained = (client: TestSocket) => drainedBy(app.url, client);
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
    await all.next('metrics_update', 10_000, 4);
    const updates = all.received.filter((r) => r.event === 'metrics_update');
    // Once per interval: the server's own timestamps, never closer than the 200 ms interval.
    const stamps = updates.map((u) => u.message.timestamp as number);
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(195);
    expect((updates[0].message.data as Metrics).top_skills).toHaveLength(3);
    const bashUpdate = (await bash.next('metrics_update')).message.data as Metrics;
    expect(bashUpdate.top_skills.map((r) => r.skill_name)).toEqual(['Bash']);
    await drained(idle);
    expect(idle.received.filter((r) => r.event === 'metrics_update')).toHaveLength(0);

    await all.emitAck('unsubscribe_metrics');
    // Ticks sent before the acknowledgement arrived before it; none may follow. Two more ticks to
    // `bash` prove that intervals passed, then a sentinel drains what `all` was sent meanwhile.
    const count = all.received.filter((r) => r.event === 'metrics_update').length;
    const bashSeen = bash.received.filter((r) => r.event === 'metrics_update').length;
    await bash.next('metrics_update', 10_000, bashSeen + 1);
    await drained(all);
    expect(all.received.filter((r) => r.event === 'metrics_update')).toHaveLength(count);
  });
});
