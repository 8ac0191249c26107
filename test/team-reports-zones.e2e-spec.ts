import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDay } from '../src/usage/local-day';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { expectRollupsMatchEntries } from './support/ledger-rollups';
import { startTestApp, type RunningApp } from './support/test-app';

const KEY = 'team-zones-admin-key-0123456789';
const MEMBERS = ['alice', 'bob'];
/** UTC days around both of Europe/Berlin's 2026 DST changes, and two ordinary ones. */
const DAYS = [
  '2026-03-28',
  '2026-03-29',
  '2026-03-30',
  '2026-10-24',
  '2026-10-25',
  '2026-10-26',
  '2026-12-01',
  '2026-12-02',
];
/** Minutes into each UTC hour: both ends of quarter hours, so every boundary is crossed. */
const MINUTES = [0, 14, 15, 30, 44, 45, 59];
/** Zones whose days leave the UTC day by 0, ±1–2 h with DST, +5:30, −3:30/−2:30, −8/−7 h, +14 h. */
const ZONES: [string, number][] = [
  ['UTC', 0],
  ['Europe/Berlin', 0],
  ['Europe/Berlin', 4],
  ['Asia/Kolkata', 0],
  ['America/St_Johns', 0],
  ['America/Los_Angeles', 0],
  ['America/Los_Angeles', 23],
  ['Pacific/Kiritimati', 0],
];

interface Pushed {
  member: string;
  agent: 'claude' | 'codex';
  ts: number;
  model: string;
  tokens: number;
}

interface Row {
  date: string;
  member: string;
  total_tokens: number;
  cost_usd: number;
  models: string[];
  agents: string[];
}

/**
 * Reports by member are summed from a day roll-up and, where a zone's day leaves the UTC day,
 * from the quarter-hour roll-up (docs/team.md): in every zone, with DST changes and reset hours,
 * each member's day equals the sum of the entries whose local day it is, and the members' rows
 * add up to the whole team's (read from the team roll-up).
 */
describe.each(databaseKinds())('team reports by member across zones on %s', (kind) => {
  let db: TestDatabase;
  let app: RunningApp;
  const pushed: Pushed[] = [];

  const report = async (kindOf: string, query: Record<string, string>) => {
    const res = await fetch(
      `${app.url}/api/team/usage/reports/${kindOf}?${new URLSearchParams(query)}`,
      { headers: { 'x-api-key': KEY } },
    );
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startTestApp({ ...db.env, API_KEYS: KEY });
    let n = 0;
    for (const day of DAYS)
      for (let hour = 0; hour < 24; hour++)
        for (const minute of MINUTES) {
          const ts = Date.parse(`${day}T00:00:00Z`) + hour * 3_600_000 + minute * 60_000;
          n++;
          pushed.push({
            member: MEMBERS[n % 2],
            agent: n % 5 === 0 ? 'codex' : 'claude',
            ts,
            model:
              n % 5 === 0 ? 'gpt-5' : n % 3 ? 'claude-sonnet-4-5-20250929' : 'claude-haiku-4-5',
            tokens: 100 + (n % 17),
          });
        }
    for (const member of MEMBERS) {
      const mine = pushed.filter((p) => p.member === member);
      for (let i = 0; i < mine.length; i += 500) {
        const entries = mine.slice(i, i + 500).map((p) => ({
          ts: p.ts,
          model: p.model,
          input_tokens: p.tokens,
          output_tokens: 10,
          cache_creation_tokens: 0,
          cache_read_tokens: 0,
          session_id: `s-${member}`,
          project_path: 'Unknown Project',
          project: `-home-${member}`,
          ...(p.agent === 'codex'
            ? { agent: 'codex', event_key: `codex-${p.ts}`, cost_usd: 0.25 }
            : { message_id: `msg-${p.ts}`, request_id: `req-${p.ts}` }),
        }));
        const res = await fetch(`${app.url}/api/usage/entries`, {
          method: 'POST',
          headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ member, machine: `${member}-laptop`, entries }),
        });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { accepted: number }).accepted).toBe(entries.length);
      }
    }
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('keeps the day roll-up equal to the entries', async () => {
    await expectRollupsMatchEntries(db);
  });

  it.each(ZONES)(
    'daily by member in %s (days from %i h) equals the entries of each local day',
    async (zone, resetHour) => {
      const query = { group_by: 'member', timezone: zone, reset_hour: String(resetHour) };
      const byMember = (await report('daily', query)).daily as Row[];
      const team = (await report('daily', { timezone: zone, reset_hour: String(resetHour) }))
        .daily as Row[];
      // What each member's local day holds, from what was pushed.
      const expected = new Map<
        string,
        { tokens: number; models: Set<string>; agents: Set<string> }
      >();
      for (const p of pushed) {
        const id = `${localDay(p.ts, zone, resetHour)} ${p.member}`;
        const sum = expected.get(id) ?? { tokens: 0, models: new Set(), agents: new Set() };
        sum.tokens += p.tokens + 10;
        sum.models.add(p.model);
        sum.agents.add(p.agent);
        expected.set(id, sum);
      }
      expect(byMember.map((r) => `${r.date} ${r.member}`)).toEqual([...expected.keys()].sort());
      for (const row of byMember) {
        const sum = expected.get(`${row.date} ${row.member}`)!;
        expect(row.total_tokens, `${row.date} ${row.member}`).toBe(sum.tokens);
        expect(row.models).toEqual([...sum.models].sort());
        expect(row.agents).toEqual([...sum.agents].sort());
      }
      // The members add up to the team, cost included (the team's report reads another roll-up).
      expect(team.map((r) => r.date)).toEqual([...new Set(byMember.map((r) => r.date))]);
      for (const day of team) {
        const rows = byMember.filter((r) => r.date === day.date);
        expect(rows.reduce((s, r) => s + r.total_tokens, 0)).toBe(day.total_tokens);
        expect(Math.abs(rows.reduce((s, r) => s + r.cost_usd, 0) - day.cost_usd)).toBeLessThan(
          1e-9,
        );
      }
      // One member's report is that member's rows; a range keeps exactly its local days.
      const alice = (
        await report('daily', { timezone: zone, reset_hour: String(resetHour), member: 'alice' })
      ).daily as Row[];
      expect(alice.map((r) => [r.date, r.total_tokens])).toEqual(
        byMember.filter((r) => r.member === 'alice').map((r) => [r.date, r.total_tokens]),
      );
      const ranged = (await report('daily', { ...query, since: '2026-10-25', until: '2026-10-26' }))
        .daily as Row[];
      const inRange = byMember.filter((r) => r.date >= '2026-10-25' && r.date <= '2026-10-26');
      expect(ranged.map((r) => [r.date, r.member, r.total_tokens, r.models, r.agents])).toEqual(
        inRange.map((r) => [r.date, r.member, r.total_tokens, r.models, r.agents]),
      );
      ranged.forEach((r, i) =>
        expect(Math.abs(r.cost_usd - inRange[i].cost_usd)).toBeLessThan(1e-9),
      );
    },
  );

  it('pages by member: the pages together are the whole report, each with its own totals', async () => {
    const query = { group_by: 'member', timezone: 'Europe/Berlin' };
    const whole = (await report('daily', query)).daily as Row[];
    const pages: Row[][] = [];
    let after: string | undefined;
    for (;;) {
      const page = await report('daily', { ...query, limit: '1', ...(after ? { after } : {}) });
      const rows = page.daily as Row[];
      const { next } = page.page as { next: string | null };
      expect(new Set(rows.map((r) => r.member)).size).toBe(1);
      expect((page.totals as { total_tokens: number }).total_tokens).toBe(
        rows.reduce((s, r) => s + r.total_tokens, 0),
      );
      pages.push(rows);
      if (next === null) break;
      after = next;
    }
    expect(pages.map((rows) => rows[0].member)).toEqual(MEMBERS);
    expect(pages.flat().map((r) => [r.date, r.member, r.total_tokens])).toEqual(
      [...whole]
        .sort((a, b) => a.member.localeCompare(b.member) || a.date.localeCompare(b.date))
        .map((r) => [r.date, r.member, r.total_tokens]),
    );
    const last = await report('daily', { ...query, after: 'bob' });
    expect(last).toMatchObject({ daily: [], page: { limit: 1000, after: 'bob', next: null } });
  });

  it('refuses a page without groups, out of bounds, or of sessions, naming each field', async () => {
    const problem = async (kindOf: string, query: Record<string, string>) => {
      const res = await fetch(
        `${app.url}/api/team/usage/reports/${kindOf}?${new URLSearchParams(query)}`,
        { headers: { 'x-api-key': KEY } },
      );
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      return ((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field);
    };
    expect(await problem('daily', { limit: '10' })).toContain('group_by');
    expect(await problem('daily', { group_by: 'member', limit: '0', after: 'a\u0001' })).toEqual([
      'limit',
      'after',
    ]);
    expect(await problem('daily', { group_by: 'member', limit: '1001' })).toEqual(['limit']);
    expect(await problem('sessions', { group_by: 'member', limit: '5', after: 'x' })).toEqual([
      'limit',
      'after',
    ]);
  });

  it('monthly by member adds up the same days', async () => {
    const daily = (await report('daily', { group_by: 'member', timezone: 'Europe/Berlin' }))
      .daily as Row[];
    const monthly = (await report('monthly', { group_by: 'member', timezone: 'Europe/Berlin' }))
      .monthly as (Row & { month: string })[];
    for (const row of monthly)
      expect(row.total_tokens).toBe(
        daily
          .filter((d) => d.member === row.member && d.date.startsWith(row.month))
          .reduce((s, d) => s + d.total_tokens, 0),
      );
  });
});
