import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertWebhooks } from '../src/alerts/alert-webhooks';
import type { LimitsDto } from '../src/limits/dto/limits.dto';
import { LimitsStore } from '../src/limits/limits.store';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { connected, connectSocket } from './support/socket-client';
import { startAppWithBridge, startTestApp, type RunningApp } from './support/test-app';
import { writeUsageLog } from './support/usage-logs';
import { TestClock } from './support/test-clock';
import { runStatusline } from './support/statusline';
import { waitFor } from './support/wait';
import { WebhookReceiver } from './support/webhook-receiver';

const HOUR = 3_600_000;

/** What Claude Code (≥ 2.1.80, Pro/Max) pipes into a status line command (its docs: statusline). */
const claudeInput = (five: number, fiveResets: number, seven: number, sevenResets: number) => ({
  session_id: 's-1',
  model: { id: 'claude-sonnet-4-5-20250929', display_name: 'Sonnet 4.5' },
  version: '2.1.90',
  cost: { total_cost_usd: 0.5, total_duration_ms: 1000 },
  context_window: { used_percentage: 8, context_window_size: 200000 },
  rate_limits: {
    five_hour: { used_percentage: five, resets_at: Math.floor(fiveResets / 1000) },
    seven_day: { used_percentage: seven, resets_at: Math.floor(sevenResets / 1000) },
  },
});

/** The status line's output for `input`, against the gateway at `url` (no colours). */
const statusline = async (input: object, url: string, dir: string) =>
  (
    await runStatusline(input, {
      USAGE_GATEWAY_URL: url,
      USAGE_GATEWAY_SPOOL_DIR: join(dir, 'spool'),
      NO_COLOR: '1',
      HOME: dir,
    })
  ).line.trim();

describe("Claude Code's official limits, from the status line", () => {
  let dir: string;
  let db: TestDatabase;
  let app: RunningApp;
  const receiver = new WebhookReceiver();
  let env: Record<string, string>;
  const fiveResets = Date.now() + 2 * HOUR;
  const sevenResets = Date.now() + 3 * 24 * HOUR;

  const limits = async (on = app) =>
    (await (await fetch(`${on.url}/api/usage/limits`)).json()) as LimitsDto;
  const delivered = async (...apps: RunningApp[]) => {
    for (const a of apps) await a.app.get(AlertWebhooks).settled();
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-limits-'));
    writeUsageLog(join(dir, 'claude'), {
      start: Date.now() - 60 * 60_000,
      count: 30,
      everyMs: 2 * 60_000,
      usage: (i) => ({ input_tokens: 200 + i, output_tokens: 900, cache_read_input_tokens: 5000 }),
    });
    db = createSqliteDatabase();
    env = { ...db.env, ALERT_WEBHOOK_URLS: await receiver.start() };
    app = await startAppWithBridge(dir, env);
  });
  afterAll(async () => {
    await app?.close();
    await receiver.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the official figures with their age, our usage in the same window, and says why one is missing', async () => {
    const before = await limits();
    expect(before.windows.map((w) => [w.window, w.official, w.missing])).toEqual([
      ['five_hour', null, 'never_seen'],
      ['seven_day', null, 'never_seen'],
    ]);

    const io = connectSocket(app.url);
    await connected(io);
    const line = await statusline(claudeInput(42, fiveResets, 18, sevenResets), app.url, dir);
    const at = new Date(fiveResets);
    const hhmm = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
    expect(line).toContain(`5h 42% ↻${hhmm} · 7d 18%`);
    expect(line).not.toContain('~');
    // Dashboards hear of the change.
    const update = await io.next('limits');
    expect(update.message.data).toMatchObject({
      member: 'local',
      used_percentage: expect.any(Number),
    });
    io.close();

    const now = await limits();
    const [five, seven] = now.windows;
    expect(five.official).toMatchObject({
      used_percentage: 42,
      resets_at: new Date(Math.floor(fiveResets / 1000) * 1000).toISOString(),
    });
    expect(five.official!.age_seconds).toBeGreaterThanOrEqual(0);
    expect(five.official!.age_seconds).toBeLessThan(60);
    expect(five.window_start).toBe(
      new Date(Math.floor(fiveResets / 1000) * 1000 - 5 * HOUR).toISOString(),
    );
    // The 30 lines of the last hour all lie inside both windows: our count of them.
    expect(five.ours).toMatchObject({ entries: 30 });
    expect(five.ours!.total_tokens).toBe(seven.ours!.total_tokens);
    expect(five.ours!.models.map((m) => m.model)).toEqual(['claude-sonnet-4-5-20250929']);
    // One observation of 42 %: the calibration is our cost per official percent.
    expect(five.calibration).toMatchObject({ observations: 1 });
    expect(five.calibration!.usd_per_percent).toBeCloseTo(five.ours!.cost_usd / 42, 4);
    expect(seven.official).toMatchObject({ used_percentage: 18 });
  });

  it('alerts 80 % of a window once — across a restart and two instances — and again for a new window', async () => {
    await statusline(claudeInput(60, fiveResets, 18, sevenResets), app.url, dir);
    await statusline(claudeInput(85, fiveResets, 18, sevenResets), app.url, dir);
    await statusline(claudeInput(90, fiveResets, 18, sevenResets), app.url, dir);
    await delivered(app);
    await waitFor(() => receiver.of('official_limit', 80).length > 0, 10_000, 'the 80 % alert');
    expect(receiver.of('official_limit', 80)).toHaveLength(1);
    expect(receiver.of('official_limit', 50)).toHaveLength(1); // at 60 %
    expect(receiver.of('official_limit', 80)[0]).toMatchObject({
      severity: 'warning',
      title: '80% of the 5-hour limit used',
    });

    // A restart, then a second instance on the same database: still once.
    await app.close();
    app = await startAppWithBridge(dir, { ...env, DB_MIGRATIONS_RUN: 'false' });
    const other = await startTestApp({ ...env, DB_MIGRATIONS_RUN: 'false' });
    try {
      await Promise.all([
        statusline(claudeInput(88, fiveResets, 18, sevenResets), app.url, dir),
        statusline(claudeInput(89, fiveResets, 18, sevenResets), other.url, dir),
      ]);
      await delivered(app, other);
      expect(receiver.of('official_limit', 80)).toHaveLength(1);

      // The window resets: a new resets_at is a new window, with its own 80 %.
      const next = fiveResets + 5 * HOUR;
      await statusline(claudeInput(81, next, 18, sevenResets), other.url, dir);
      await delivered(app, other);
      await waitFor(() => receiver.of('official_limit', 80).length === 2, 10_000, 'a second 80 %');
      expect(new Set(receiver.of('official_limit', 80).map((a) => a.data.resets_at)).size).toBe(2);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('records "limit reached" from a StopFailure rate-limit hook event, and alerts it', async () => {
    const res = await fetch(`${app.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        session_id: 's-1',
        transcript_path: '/tmp/s-1.jsonl',
        cwd: '/tmp',
        hook_event_name: 'StopFailure',
        error: 'rate_limit',
        error_details: '429 Too Many Requests',
        last_assistant_message: 'API Error: Rate limit reached',
      }),
    });
    expect(res.status).toBe(201);
    await waitFor(async () => (await limits()).last_limit_reached, 10_000, 'limit reached');
    await delivered(app);
    await waitFor(() => receiver.of('limit_reached').length > 0, 10_000, 'the alert');
    expect(receiver.of('limit_reached')[0]).toMatchObject({
      severity: 'critical',
      data: { session_id: 's-1', details: '429 Too Many Requests' },
    });
    // Another error (overloaded) is not a limit.
    await fetch(`${app.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        session_id: 's-2',
        hook_event_name: 'StopFailure',
        error: 'overloaded',
      }),
    });
    await delivered(app);
    expect(receiver.of('limit_reached')).toHaveLength(1);
  });

  it('refuses a malformed forward with every bad field named', async () => {
    const res = await fetch(`${app.url}/api/usage/statusline`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        rate_limits: { five_hour: { used_percentage: 140, resets_at: 12 } },
        context_used_percentage: -1,
        extra: true,
      }),
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: Array<{ field: string }> };
    expect(problem.errors.map((e) => e.field).sort()).toEqual([
      'context_used_percentage',
      'extra',
      'rate_limits.five_hour.resets_at',
      'rate_limits.five_hour.used_percentage',
    ]);
    // Nothing of it was recorded.
    expect((await limits()).windows[0].official?.used_percentage).not.toBe(140);
  });
});

describe('calibration and projection on generated logs, at injected times', () => {
  let dir: string;
  let db: TestDatabase;
  let app: RunningApp;
  const clock = new TestClock();
  // Whole minutes, 2 h ago: 10 lines 6 min apart, each 1,000 output tokens of Sonnet 4.5 ($0.015).
  const t0 = Math.floor((Date.now() - 2 * HOUR) / 60_000) * 60_000;
  const resets = t0 + 4 * HOUR; // the 5-hour window: t0 − 1 h … t0 + 4 h
  const forward = (percent: number) =>
    fetch(`${app.url}/api/usage/statusline`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        rate_limits: { five_hour: { used_percentage: percent, resets_at: resets / 1000 } },
      }),
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-calibration-'));
    writeUsageLog(join(dir, 'claude'), {
      start: t0,
      count: 10,
      everyMs: 6 * 60_000,
      usage: () => ({ input_tokens: 0, output_tokens: 1000 }),
    });
    db = createSqliteDatabase();
    app = await startAppWithBridge(dir, db.env, { clock: clock.now });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tokens and USD per official percent, and the time to 100 % or the reset, as computed by hand', async () => {
    // 10 % reported at t0 + 30 min: our lines at t0, +6 … +24 (5) are in its window up to then.
    clock.advance(t0 + 30 * 60_000 - clock.now());
    expect((await forward(10)).status).toBe(200);
    // 20 % at t0 + 60 min: all 10 lines (the last at t0 + 54 min).
    clock.advance(30 * 60_000);
    expect((await forward(20)).status).toBe(200);

    const stats = (await (await fetch(`${app.url}/api/usage/stats`)).json()) as {
      burn_rate: { cost_per_hour: number };
    };
    const costPerHour = stats.burn_rate.cost_per_hour;
    const five = ((await (await fetch(`${app.url}/api/usage/limits`)).json()) as LimitsDto)
      .windows[0];
    // Both reports: 5 lines ↔ 10 % and 10 lines ↔ 20 %: 500 tokens and $0.0075 per percent.
    expect(five.ours).toMatchObject({ entries: 10, output_tokens: 10_000, cost_usd: 0.15 });
    expect(five.calibration).toEqual({
      tokens_per_percent: 500,
      usd_per_percent: 0.0075,
      observations: 2,
    });
    // Nothing since the last report: 20 % now; our burn rate through $0.0075 per percent; the
    // window resets in 3 h.
    const perHour = costPerHour / 0.0075;
    const hoursTo100 = 80 / perHour;
    expect(five.projection).toMatchObject({
      basis: 'burn_rate',
      percent_now: 20,
      percent_per_hour: Number(perHour.toFixed(3)),
      resets_first: hoursTo100 >= 3,
      percent_at_reset: Math.round(Math.min(100, 20 + perHour * 3) * 10) / 10,
    });
    expect(five.history.map((p) => p.used_percentage)).toEqual([10, 20]);
    expect(five.official).toMatchObject({ used_percentage: 20, age_seconds: 0 });

    // An hour on without a report: the age grows; past the reset, the figure is expired.
    clock.advance(HOUR);
    const later = ((await (await fetch(`${app.url}/api/usage/limits`)).json()) as LimitsDto)
      .windows[0];
    expect(later.official?.age_seconds).toBe(3600);
    clock.advance(3 * HOUR);
    const after = ((await (await fetch(`${app.url}/api/usage/limits`)).json()) as LimitsDto)
      .windows[0];
    expect([after.official, after.missing]).toEqual([null, 'expired']);
    // Kept as long as events: pruning removes what was first seen before the cut-off.
    expect(await app.app.get(LimitsStore).prune(t0 + 45 * 60_000)).toBe(1);
    expect(await app.app.get(LimitsStore).prune(clock.now())).toBe(1);
  });
});
