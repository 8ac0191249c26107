import { EventEmitter2 } from '@nestjs/event-emitter';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeStatusDto } from '../src/bridge/dto/bridge-status.dto';
import { USAGE_UPDATED_EVENT, type UsageUpdatedEvent } from '../src/usage/usage.events';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { TestClock } from './support/test-clock';
import { writeUsageLog } from './support/usage-logs';
import { startTestApp, type RunningApp } from './support/test-app';
import { isAlive, waitFor } from './support/wait';

/** Claude Code usage lines from 10 to 8 hours ago: complete blocks, so payloads do not drift with time. */
function writeLog(dir: string): void {
  writeUsageLog(dir, {
    start: Date.now() - 10 * 3_600_000,
    count: 40,
    everyMs: 180_000,
    usage: (i) => ({ input_tokens: 100 + i, output_tokens: 500, cache_read_input_tokens: 1000 }),
  });
}

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

describe.each(databaseKinds())('usage API on %s', (kind) => {
  let db: TestDatabase;
  let dir: string;
  const apps: RunningApp[] = [];

  const start = async (env: Record<string, string> = {}, clock?: TestClock) => {
    const running = await startTestApp(
      {
        ...db.env,
        BRIDGE_MODE: 'spawn',
        BRIDGE_PORT: '0',
        BRIDGE_AUTO_RESTART: 'false',
        BRIDGE_STATE_DIR: join(dir, 'state'),
        CLAUDE_CONFIG_DIR: join(dir, 'claude'),
        PATH: process.env.PATH ?? '',
        HOME: dir,
        ...env,
      },
      0,
      { clock: clock?.now },
    );
    apps.push(running);
    return running;
  };
  const bridgeStatus = async (app: RunningApp) =>
    json<BridgeStatusDto>(await fetch(`${app.url}/api/usage/bridge/status`));
  const ready = (app: RunningApp) =>
    waitFor(
      async () =>
        (await bridgeStatus(app)).process.state === 'ready' ? bridgeStatus(app) : undefined,
      15_000,
      'bridge ready',
    );

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    dir = mkdtempSync(join(tmpdir(), 'ug-usage-'));
    writeLog(join(dir, 'claude'));
  });
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the bridge, then falls back to the stored snapshot once it is gone', async () => {
    const clock = new TestClock();
    const app = await start({}, clock);
    const status = await ready(app);
    const bridgeUrl = status.url as string;
    const updates: UsageUpdatedEvent[] = [];
    app.app
      .get(EventEmitter2)
      .on(USAGE_UPDATED_EVENT, (e: UsageUpdatedEvent) => e.kind === 'stats' && updates.push(e));

    const live = await fetch(`${app.url}/api/usage/stats?plan=max5`);
    expect(live.status).toBe(200);
    expect(live.headers.get('x-data-source')).toBe('bridge');
    expect(live.headers.get('x-data-age')).toBeNull();
    const payload = await live.json();
    const direct = await json(await fetch(`${bridgeUrl}/usage/stats?plan=max5&timezone=UTC`));
    expect(payload).toEqual(direct);
    expect(updates).toHaveLength(1);

    const again = await fetch(`${app.url}/api/usage/stats?plan=max5`);
    expect(again.headers.get('x-data-source')).toBe('cache');
    expect(await again.json()).toEqual(payload);

    const sessions = await fetch(`${app.url}/api/usage/sessions?hours_back=24`);
    expect(sessions.headers.get('x-data-source')).toBe('bridge');
    const sessionsPayload = await json<{ sessions: Array<{ entries: number }> }>(sessions);
    expect(sessionsPayload).toEqual(
      await json(await fetch(`${bridgeUrl}/usage/sessions?hours_back=24&limit=100`)),
    );
    expect(sessionsPayload.sessions.reduce((n, s) => n + s.entries, 0)).toBe(40);

    // The bridge dies (no restart). Wait out the cache, then every answer comes from the store.
    process.kill(status.process.pid as number, 'SIGKILL');
    await waitFor(() => !isAlive(status.process.pid as number), 2000, 'bridge gone');
    clock.advance(1100); // past the 1 s cache
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${app.url}/api/usage/stats?plan=max5`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-data-source')).toBe('snapshot');
      expect(Number(res.headers.get('x-data-age'))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toEqual(payload);
    }
    // Once the breaker is open no call waits for the bridge (how fast: bench/usage-api).
    expect((await bridgeStatus(app)).circuit.state).toBe('open');

    const stored = await fetch(`${app.url}/api/usage/sessions?hours_back=24`);
    expect(stored.status).toBe(200);
    expect(stored.headers.get('x-data-source')).toBe('database');
    expect((await json<{ sessions: unknown[] }>(stored)).sessions).toEqual(
      sessionsPayload.sessions,
    );
  }, 40_000);

  it('answers while the bridge hangs (SIGSTOP) from the last value, not after the bridge timeout', async () => {
    // A per-attempt timeout far beyond this test's own: only the read deadline can answer in time.
    const clock = new TestClock();
    const app = await start(
      { USAGE_BRIDGE_TIMEOUT: '60000', USAGE_READ_DEADLINE_MS: '500' },
      clock,
    );
    const { process: proc } = await ready(app);
    const pid = proc.pid as number;
    const read = async (query: string) => {
      const res = await fetch(`${app.url}/api/usage/stats?${query}`);
      return {
        status: res.status,
        source: res.headers.get('x-data-source'),
        age: res.headers.get('x-data-age'),
        body: (await res.json()) as { config_applied: { plan: string } },
      };
    };
    const live = await read('plan=max20');
    expect(live.source).toBe('bridge');
    process.kill(pid, 'SIGSTOP');
    try {
      clock.advance(1100); // the cached answer expires
      const stale = await read('plan=max20');
      expect(stale).toMatchObject({ status: 200, source: 'cache', body: live.body });
      expect(Number(stale.age)).toBeGreaterThanOrEqual(1);
      const never = await read('plan=custom&custom_limit_tokens=777');
      expect(never).toMatchObject({ status: 200, source: 'default' });
      expect(never.body.config_applied.plan).toBe('custom');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(
      async () => (await read('plan=pro')).source === 'bridge',
      10_000,
      'bridge answers again',
    );
  }, 30_000);

  it('keeps a config change made while the bridge is down, across a restart, and delivers it when it returns', async () => {
    const first = await start();
    const status = await ready(first);
    process.kill(status.process.pid as number, 'SIGKILL');
    await waitFor(
      async () => ((await bridgeStatus(first)).process.state === 'failed' ? true : undefined),
      5000,
      'failed',
    );

    const res = await fetch(`${first.url}/api/usage/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'max20', timezone: 'Europe/Berlin', reset_hour: 4 }),
    });
    expect(res.status).toBe(200);
    const result = await json<{ success: boolean; fromBridge: boolean; data: { plan: string } }>(
      res,
    );
    expect(result).toMatchObject({ success: true, fromBridge: false, data: { plan: 'max20' } });
    await first.close();

    const second = await start();
    expect(await json(await fetch(`${second.url}/api/usage/config`))).toMatchObject({
      plan: 'max20',
      timezone: 'Europe/Berlin',
      reset_hour: 4,
    });
    const back = await ready(second);
    await waitFor(
      async () =>
        (await json<{ plan: string }>(await fetch(`${back.url}/usage/config`))).plan === 'max20',
      5000,
      'config pushed to the returning bridge',
    );

    // The config in effect applies to stats calls, and a request may override it.
    const stats = await json<{ config_applied: { plan: string; timezone: string } }>(
      await fetch(`${second.url}/api/usage/stats`),
    );
    expect(stats.config_applied).toMatchObject({ plan: 'max20', timezone: 'Europe/Berlin' });
    const overridden = await json<{ config_applied: { plan: string } }>(
      await fetch(`${second.url}/api/usage/stats?plan=pro`),
    );
    expect(overridden.config_applied.plan).toBe('pro');

    const reset = await json<{ fromBridge: boolean; data: { plan: string } }>(
      await fetch(`${second.url}/api/usage/config/reset`, { method: 'POST' }),
    );
    expect(reset).toMatchObject({ fromBridge: true, data: { plan: 'pro' } });
    await second.close();
  }, 40_000);

  it('answers every bad parameter in one 400 and leaves the store unchanged', async () => {
    const app = await start({ BRIDGE_MODE: 'off' });
    const before = await json<{ count: number }>(
      await fetch(`${app.url}/api/usage/snapshots?limit=1000`),
    );
    const config = await json(await fetch(`${app.url}/api/usage/config`));

    const stats = await fetch(
      `${app.url}/api/usage/stats?plan=gold&custom_limit_tokens=-1&timezone=Mars/Olympus&reset_hour=24`,
    );
    expect(stats.status).toBe(400);
    expect(stats.headers.get('content-type')).toMatch(/problem\+json/);
    const statsProblem = await json<{ errors: Array<{ field: string }> }>(stats);
    expect([...new Set(statsProblem.errors.map((e) => e.field))].sort()).toEqual([
      'custom_limit_tokens',
      'plan',
      'reset_hour',
      'timezone',
    ]);

    const sessions = await fetch(
      `${app.url}/api/usage/sessions?hours_back=0&limit=1001&session_id=%3Cx%3E`,
    );
    expect(sessions.status).toBe(400);
    const sessionsProblem = await json<{ errors: Array<{ field: string }> }>(sessions);
    expect([...new Set(sessionsProblem.errors.map((e) => e.field))].sort()).toEqual([
      'hours_back',
      'limit',
      'session_id',
    ]);

    const post = await fetch(`${app.url}/api/usage/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'gold', reset_hour: -1, theme: 'neon', colour: 'red' }),
    });
    expect(post.status).toBe(400);
    const postProblem = await json<{ errors: Array<{ field: string }> }>(post);
    expect([...new Set(postProblem.errors.map((e) => e.field))].sort()).toEqual([
      'colour',
      'plan',
      'reset_hour',
      'theme',
    ]);

    expect(await json(await fetch(`${app.url}/api/usage/config`))).toEqual(config);
    expect(
      await json<{ count: number }>(await fetch(`${app.url}/api/usage/snapshots?limit=1000`)),
    ).toEqual(before);
  });

  it('with nothing stored and no bridge, answers a well-formed default (never a 5xx)', async () => {
    const empty = await createTestDatabase(kind);
    try {
      const app = await startTestApp({ ...empty.env, BRIDGE_MODE: 'off' });
      try {
        const stats = await fetch(`${app.url}/api/usage/stats?plan=max5`);
        expect(stats.status).toBe(200);
        expect(stats.headers.get('x-data-source')).toBe('default');
        expect(await stats.json()).toMatchObject({
          current_session: null,
          recent_sessions: [],
          totals: { tokens: 0, token_percentage: 0 },
          config_applied: { plan: 'max5', limits: { tokens: 88_000 } },
        });
        const sessions = await fetch(`${app.url}/api/usage/sessions?hours_back=5&limit=3`);
        expect(sessions.headers.get('x-data-source')).toBe('default');
        expect(await sessions.json()).toEqual({
          sessions: [],
          total_count: 0,
          hours_back: 5,
          limit: 3,
          session_id: null,
        });
      } finally {
        await app.close();
      }
    } finally {
      await empty.drop();
    }
  });

  it('lists stored snapshots newest first, an unchanged payload stored once', async () => {
    const app = await start({ USAGE_CACHE_TTL_MS: '0' });
    await ready(app);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${app.url}/api/usage/sessions?hours_back=48&limit=7`);
      expect(res.headers.get('x-data-source')).toBe('bridge');
    }
    // Snapshots are written after the answer, in order: once a later read's is there, these
    // three reads' writes are done.
    await fetch(`${app.url}/api/usage/sessions?hours_back=47&limit=7`);
    const list = await waitFor(
      async () => {
        const found = await json<{
          snapshots: Array<{ kind: string; params: string; created_at: string }>;
        }>(await fetch(`${app.url}/api/usage/snapshots?kind=sessions`));
        const marker = JSON.stringify({ hours_back: '47', limit: '7' });
        return found.snapshots.some((s) => s.params === marker) ? found : undefined;
      },
      10_000,
      'the later read stored',
    );
    const mine = list.snapshots.filter(
      (s) => s.params === JSON.stringify({ hours_back: '48', limit: '7' }),
    );
    expect(mine).toHaveLength(1);
    const times = list.snapshots.map((s) => s.created_at);
    expect([...times].sort().reverse()).toEqual(times);
    const bad = await fetch(`${app.url}/api/usage/snapshots?kind=other&since=yesterday`);
    expect(bad.status).toBe(400);
    await app.close();
  }, 30_000);
});
