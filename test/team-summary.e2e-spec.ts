import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { startTestApp, type RunningApp } from './support/test-app';
import { TestClock } from './support/test-clock';
import { waitFor } from './support/wait';

const KEY = 'team-summary-admin-key-0123456789';

interface Period {
  cost_usd: number;
  total_tokens: number;
}
interface MemberRow {
  member: string;
  revoked: boolean;
  today: Period;
  week: Period;
  month: Period;
  block: {
    start: string;
    total_tokens: number;
    elapsed_percent: number;
    tokens_per_minute: number;
  } | null;
  last_activity: string | null;
  machines: string[];
  official: unknown;
}
const MODEL = 'claude-sonnet-4-5-20250929';

/**
 * GET /api/team/usage on an injected clock — Thursday 26 Nov 2026, 14:20 UTC — whatever the time
 * of day the suite runs at: today / this week / this month per member, the running 5-hour block,
 * last activity, machines, the official figures a member's status line reported, team totals.
 */
describe('the team summary', () => {
  let db: TestDatabase;
  let app: RunningApp;
  const clock = new TestClock();
  const now = Date.parse('2026-11-26T14:20:00Z');
  clock.advance(now - clock.now());
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};

  const call = async (
    method: string,
    path: string,
    auth: Record<string, string>,
    body?: unknown,
  ) => {
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const admin = { 'x-api-key': KEY };
  /** One request of `tokens` tokens (all input) at `iso`, `n` naming it. */
  const line = (iso: string, n: number, tokensUsed: number) => ({
    ts: Date.parse(iso),
    model: MODEL,
    input_tokens: tokensUsed,
    output_tokens: 0,
    cache_creation_tokens: 0,
    cache_read_tokens: 0,
    session_id: '-home-me-shop',
    project_path: 'Unknown Project',
    project: '-home-me-shop',
    message_id: `msg_${n}`,
    request_id: `req_${n}`,
  });

  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp({ ...db.env, API_KEYS: KEY, ALERT_CHECK_INTERVAL_MS: '1000' }, 0, {
      clock: clock.now,
    });
    for (const name of ['alice', 'bob', 'carol']) {
      const created = await call('POST', '/api/team/members', admin, { name });
      tokens[name] = created.json.token as string;
      ids[name] = created.json.id as string;
    }
    const push = (member: string, machine: string, entries: unknown[]) =>
      call(
        'POST',
        '/api/usage/entries',
        { authorization: `Bearer ${tokens[member]}` },
        {
          machine,
          entries,
        },
      );
    expect(
      (
        await push('alice', 'laptop', [
          line('2026-10-30T10:00:00Z', 1, 1_000_000), // last month
          line('2026-11-03T10:00:00Z', 2, 100_000), // this month
          line('2026-11-23T09:00:00Z', 3, 10_000), // this week (from Sunday the 22nd)
          line('2026-11-25T23:50:00Z', 4, 1_000), // yesterday
          line('2026-11-26T13:05:00Z', 5, 100), // today: the block starts at 13:00
        ])
      ).status,
    ).toBe(200);
    await push('alice', 'desk', [line('2026-11-26T14:10:00Z', 6, 20)]);
    await push('bob', 'box', [line('2026-11-02T08:00:00Z', 7, 5_000)]);
    await call('DELETE', `/api/team/members/${ids.bob}`, admin);
    // alice's status line reports Claude Code's official figures.
    const reported = await call(
      'POST',
      '/api/usage/statusline',
      { authorization: `Bearer ${tokens.alice}` },
      {
        session_id: 'alice-session',
        rate_limits: {
          five_hour: { used_percentage: 42, resets_at: Date.parse('2026-11-26T18:00:00Z') / 1000 },
          seven_day: { used_percentage: 18, resets_at: Date.parse('2026-11-30T00:00:00Z') / 1000 },
        },
      },
    );
    expect(reported.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('sums today, this week and this month per member, with the block and the official figures', async () => {
    const { status, json } = await call('GET', '/api/team/usage', admin);
    expect(status).toBe(200);
    expect(json).toMatchObject({
      timezone: 'UTC',
      today: '2026-11-26',
      week_start: '2026-11-22',
      month_start: '2026-11-01',
    });
    const members = json.members as MemberRow[];
    expect(members.map((m) => m.member)).toEqual(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = members;
    expect([alice.today, alice.week, alice.month].map((p) => p.total_tokens)).toEqual([
      120, 11_120, 111_120,
    ]);
    expect(alice.month.cost_usd).toBeCloseTo(111_120 * 3e-6, 9);
    expect(alice.machines).toEqual(['desk', 'laptop']);
    expect(alice.last_activity).toBe('2026-11-26T14:10:00.000Z');
    expect(alice.block).toMatchObject({
      start: '2026-11-26T13:00:00.000Z',
      end: '2026-11-26T18:00:00.000Z',
      total_tokens: 120,
      percent: 42,
    });
    expect(alice.block?.elapsed_percent).toBeCloseTo((80 / 300) * 100, 6);
    // 120 tokens from 13:00 to the last request at 14:10: 70 minutes.
    expect(alice.block?.tokens_per_minute).toBeCloseTo(120 / 70, 9);
    expect(alice.official).toEqual({
      five_hour: { used_percentage: 42, resets_at: '2026-11-26T18:00:00.000Z' },
      seven_day: { used_percentage: 18, resets_at: '2026-11-30T00:00:00.000Z' },
    });
    expect(bob).toMatchObject({ revoked: true, block: null, machines: ['box'] });
    expect(bob.month.total_tokens).toBe(5_000);
    expect(carol).toMatchObject({ revoked: false, last_activity: null, block: null });
    expect((json.totals as { month: Period }).month.total_tokens).toBe(116_120);
  });

  it('counts the days of another time zone: in Kolkata (UTC+5:30) the 25th 23:50 UTC is today', async () => {
    const { json } = await call('GET', '/api/team/usage?timezone=Asia/Kolkata', admin);
    const alice = (json.members as MemberRow[])[0];
    expect(json.today).toBe('2026-11-26');
    expect(alice.today.total_tokens).toBe(1_120);
  });

  it("a member's status line and limits are its own ledger rows, not the gateway machine's", async () => {
    const alice = { authorization: `Bearer ${tokens.alice}` };
    const line = await call('GET', '/api/usage/statusline?session_id=alice-session', alice);
    expect(line.status).toBe(200);
    expect(line.json).toMatchObject({
      session: { session_id: 'alice-session', found: false, total_tokens: 0 },
      today: { date: '2026-11-26', total_tokens: 120 },
      block: {
        total_tokens: 120,
        start_time: '2026-11-26T13:00:00.000Z',
        end_time: '2026-11-26T18:00:00.000Z',
        minutes_left: 220,
      },
      official: { five_hour: { used_percentage: 42 } },
    });
    const limits = await call('GET', '/api/usage/limits', alice);
    const fiveHour = (
      limits.json.windows as { window: string; ours: { total_tokens: number } }[]
    ).find((w) => w.window === 'five_hour');
    // The official window 13:00–18:00 holds alice's requests of 13:05 and 14:10.
    expect(fiveHour?.ours.total_tokens).toBe(120);
  });

  it('a member may read it; a bad parameter is a listed problem', async () => {
    const asMember = await call('GET', '/api/team/usage', {
      authorization: `Bearer ${tokens.carol}`,
    });
    expect(asMember.status).toBe(200);
    const bad = await call(
      'GET',
      '/api/team/usage?timezone=Mars/Olympus&start_of_week=someday',
      admin,
    );
    expect(bad.status).toBe(400);
    expect(((bad.json.errors as { field: string }[]) ?? []).map((e) => e.field).sort()).toEqual([
      'start_of_week',
      'timezone',
    ]);
  });

  it('budgets: checked input, spend in the current period, an alert at 80 % and 100 % once', async () => {
    const bad = await call('POST', '/api/team/budgets', admin, {
      member: 'alice',
      team: true,
      period: 'year',
      usd: 0,
      timezone: 'Nowhere/Land',
    });
    expect(bad.status).toBe(400);
    expect(
      [...new Set((bad.json.errors as { field: string }[]).map((e) => e.field))].sort(),
    ).toEqual(['period', 'team', 'timezone', 'usd']);
    const none = await call('POST', '/api/team/budgets', admin, { period: 'day', usd: 5 });
    expect(none.status).toBe(400);
    const viewerless = await call(
      'POST',
      '/api/team/budgets',
      { authorization: `Bearer ${tokens.carol}` },
      { team: true, period: 'day', usd: 5 },
    );
    expect(viewerless.status).toBe(403);

    // alice's month: 111,120 input tokens of Sonnet 4.5 at $3/M = $0.33336; a $0.30 budget: 111 %.
    const monthly = await call('POST', '/api/team/budgets', admin, {
      member: 'alice',
      period: 'month',
      usd: 0.3,
    });
    expect(monthly.status).toBe(200);
    expect(monthly.json).toMatchObject({
      member: 'alice',
      team: false,
      period_start: '2026-11-01',
    });
    expect(monthly.json.percent as number).toBeCloseTo((0.33336 / 0.3) * 100, 6);
    const team = await call('POST', '/api/team/budgets', admin, {
      team: true,
      period: 'week',
      usd: 100,
    });
    expect(team.json).toMatchObject({ member: null, team: true, period_start: '2026-11-23' });
    // Replaced, not added: one budget per member and period.
    await call('POST', '/api/team/budgets', admin, { team: true, period: 'week', usd: 50 });
    const list = await call('GET', '/api/team/budgets', admin);
    expect((list.json.budgets as { usd: number }[]).map((b) => b.usd)).toEqual([0.3, 50]);

    const alerts = async () =>
      (
        (await call('GET', '/api/alerts', admin)).json.alerts as {
          key: string;
          type: string;
          data: { passed_over?: boolean };
        }[]
      ).filter((a) => a.type === 'budget');
    const raised = await waitFor(
      async () => ((await alerts()).length === 2 ? alerts() : undefined),
      10_000,
      'the budget alerts',
    );
    const id = monthly.json.id as number;
    expect(raised.map((a) => a.key).sort()).toEqual([
      `budget:${id}:2026-11-01:100`,
      `budget:${id}:2026-11-01:80`,
    ]);
    // Crossed at once: 100 % is announced, 80 % stored as passed over.
    expect(raised.find((a) => a.key.endsWith(':80'))?.data.passed_over).toBe(true);
    const removed = await fetch(`${app.url}/api/team/budgets/${id}`, {
      method: 'DELETE',
      headers: admin,
    });
    expect(removed.status).toBe(204);
  });
});
