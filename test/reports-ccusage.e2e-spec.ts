import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ccusage,
  describeWithCcusage,
  expectSameDailyMonthlySessions,
  expectSameRows,
  expectSameTotals,
  type Json,
  type OurRow,
  type TheirRow,
} from './support/ccusage';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { TREE_PROJECTS, writeReportTree, type ReportTree } from './support/report-tree';
import { startAppWithBridge, type RunningApp } from './support/test-app';

const ZONES = ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'America/St_Johns'];

const compact = (date: string) => date.replaceAll('-', '');

/**
 * ccusage runs over the tree's twin (see ReportTree): the same requests, written so that ccusage
 * 20.0.24's commands agree with each other; ours run over the tree itself.
 */
describeWithCcusage('usage reports equal ccusage 20.0.24, row by row', () => {
  let dir: string;
  let claude: string;
  let tree: ReportTree;
  let twin: string;
  let db: TestDatabase;
  let app: RunningApp;

  const report = async (kind: string, query: Record<string, string>) => {
    const res = await fetch(`${app.url}/api/usage/reports/${kind}?${new URLSearchParams(query)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-data-source')).toMatch(/^(bridge|cache)$/);
    return (await res.json()) as Json;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-reports-'));
    claude = join(dir, 'claude');
    tree = writeReportTree(claude);
    twin = tree.twin;
    db = createSqliteDatabase();
    app = await startAppWithBridge(dir, db.env);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe.each(ZONES)('in %s', (zone) => {
    it('daily, weekly (from Monday and from Sunday), monthly and sessions', async () => {
      const [daily, weekly, sundays, monthly, sessions] = await Promise.all([
        ccusage(twin, ['daily', '--timezone', zone]),
        ccusage(twin, ['weekly', '--timezone', zone, '--start-of-week', 'monday']),
        ccusage(twin, ['weekly', '--timezone', zone, '--start-of-week', 'sunday']),
        ccusage(twin, ['monthly', '--timezone', zone]),
        ccusage(twin, ['session', '--timezone', zone]),
      ]);
      const ours = {
        daily: await report('daily', { timezone: zone }),
        weekly: await report('weekly', { timezone: zone, start_of_week: 'monday' }),
        sundays: await report('weekly', { timezone: zone }),
        monthly: await report('monthly', { timezone: zone }),
        sessions: await report('sessions', { timezone: zone }),
      };
      // Weeks across both DST changes (and St John's -03:30/-02:30): ccusage 20 labels them as
      // we do (18.0.11 took the process's zone for the label).
      expectSameRows(
        ours.sundays.weekly as OurRow[],
        sundays.weekly as TheirRow[],
        (r) => String(r.week),
        (r) => String(r.week),
      );
      expect((ours.daily.daily as OurRow[]).length).toBeGreaterThan(40);
      expectSameDailyMonthlySessions(ours, { daily, monthly, sessions });
      expectSameRows(
        ours.weekly.weekly as OurRow[],
        weekly.weekly as TheirRow[],
        (r) => String(r.week),
        (r) => String(r.week),
      );
      for (const kind of ['daily', 'weekly', 'monthly', 'sessions'] as const)
        expectSameTotals(
          ours[kind].totals as Json,
          [daily, weekly, monthly, sessions][
            ['daily', 'weekly', 'monthly', 'sessions'].indexOf(kind)
          ].totals as Json,
        );
      // Oldest first by default; a sub-agent's file counts in its parent session.
      const dates = (ours.daily.daily as OurRow[]).map((r) => String(r.date));
      expect(dates).toEqual([...dates].sort());
      const rows = ours.sessions.sessions as OurRow[];
      expect(rows.some((r) => r.session_id === 'subagents')).toBe(false);
      expect(rows).toHaveLength(TREE_PROJECTS.length * 3);
    });
  });

  it('filters by since/until and project exactly as ccusage does (files by project, then dedupe)', async () => {
    const [project] = TREE_PROJECTS;
    const since = '2026-03-07';
    const until = '2026-03-30';
    const cases: [string, Record<string, string>, string[]][] = [
      [
        'daily',
        { timezone: 'Europe/Berlin', since, until },
        [
          'daily',
          '--timezone',
          'Europe/Berlin',
          '--since',
          compact(since),
          '--until',
          compact(until),
        ],
      ],
      [
        'daily',
        { timezone: 'Asia/Kolkata', project },
        ['daily', '--timezone', 'Asia/Kolkata', `--project=${project}`],
      ],
      [
        'weekly',
        { timezone: 'America/St_Johns', since },
        ['weekly', '--timezone', 'America/St_Johns', '--since', compact(since)],
      ],
      [
        'monthly',
        { timezone: 'UTC', until },
        ['monthly', '--timezone', 'UTC', '--until', compact(until)],
      ],
      [
        'sessions',
        { timezone: 'America/St_Johns', since, until },
        [
          'session',
          '--timezone',
          'America/St_Johns',
          '--since',
          compact(since),
          '--until',
          compact(until),
        ],
      ],
    ];
    for (const [kind, query, args] of cases) {
      const [ours, theirs] = await Promise.all([report(kind, query), ccusage(twin, args)]);
      const key =
        kind === 'sessions'
          ? 'session_id'
          : { daily: 'date', weekly: 'week', monthly: 'month' }[kind]!;
      const theirKey = kind === 'sessions' ? 'sessionId' : key;
      const rows = ours[kind] as OurRow[];
      expect(rows.length, `${kind} ${JSON.stringify(query)}`).toBeGreaterThan(0);
      expectSameRows(
        rows,
        (theirs[kind] ?? []) as TheirRow[],
        (r) => `${String(r.project_path ?? '')}${String(r[key])}`,
        (r) => `${String(r.projectPath ?? '')}${String(r[theirKey])}`,
      );
      expectSameTotals(ours.totals as Json, theirs.totals as Json);
    }
  });

  it('per session, week and month with a project: the same as ccusage on that project alone', async () => {
    // Only `ccusage daily` takes --project (session, weekly and monthly ignore it): they are given
    // a folder holding only that project, which is what filtering files by project means.
    const project = TREE_PROJECTS[1];
    const alone = join(dir, 'alone');
    cpSync(join(twin, 'projects', project), join(alone, 'projects', project), {
      recursive: true,
    });
    const zone = 'Asia/Kolkata';
    const [sessions, weekly, monthly, theirSessions, theirWeekly, theirMonthly] = await Promise.all(
      [
        report('sessions', { timezone: zone, project, order: 'desc' }),
        report('weekly', { timezone: zone, project, start_of_week: 'monday' }),
        report('monthly', { timezone: zone, project }),
        ccusage(alone, ['session', '--timezone', zone]),
        ccusage(alone, ['weekly', '--timezone', zone, '--start-of-week', 'monday']),
        ccusage(alone, ['monthly', '--timezone', zone]),
      ],
    );
    const key = (path: unknown, id: unknown) => `${String(path)} ${String(id)}`;
    expectSameRows(
      sessions.sessions as OurRow[],
      theirSessions.sessions as TheirRow[],
      (r) => key(r.project_path, r.session_id),
      (r) => key(r.projectPath, r.sessionId),
    );
    expectSameTotals(sessions.totals as Json, theirSessions.totals as Json);
    const last = (sessions.sessions as OurRow[]).map((r) => String(r.last_activity));
    expect(last).toEqual([...last].sort().reverse());
    expectSameRows(
      weekly.weekly as OurRow[],
      theirWeekly.weekly as TheirRow[],
      (r) => String(r.week),
      (r) => String(r.week),
    );
    expectSameRows(
      monthly.monthly as OurRow[],
      theirMonthly.monthly as TheirRow[],
      (r) => String(r.month),
      (r) => String(r.month),
    );
    expectSameTotals(monthly.totals as Json, theirMonthly.totals as Json);
  });

  it('where ccusage 20.0.24 disagrees with itself, ours keep to the rules (its mistakes, named)', async () => {
    expect(tree.repeatedWithoutRequestId).toBeGreaterThan(0);
    expect(tree.replays).toBeGreaterThan(0);
    const total = (report: Json) => (report.totals as { totalTokens: number }).totalTokens;
    const [daily, monthly, twinDaily, twinMonthly] = await Promise.all([
      ccusage(claude, ['daily']),
      ccusage(claude, ['monthly']),
      ccusage(twin, ['daily']),
      ccusage(twin, ['monthly']),
    ]);
    const ours = (await report('monthly', {})).totals as { total_tokens: number };
    // Over the tree itself ccusage's daily and monthly totals differ: its daily counts every line
    // of a message without requestId (keyed by message id alone everywhere else), its monthly
    // (and weekly, session, blocks) counts a /btw side-chain replay of a main-chain message again
    // (its daily drops it). Each takes more than the rules: ours equal both over the twin.
    expect(total(daily)).not.toBe(total(monthly));
    expect(total(daily)).toBeGreaterThan(ours.total_tokens);
    expect(total(monthly)).toBeGreaterThan(ours.total_tokens);
    expect([total(twinDaily), total(twinMonthly)]).toEqual([ours.total_tokens, ours.total_tokens]);
  });
});

describeWithCcusage('5-hour blocks equal ccusage 20.0.24 blocks', () => {
  let dir: string;
  let db: TestDatabase;
  let app: RunningApp;
  let twin: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-blocks-'));
    // Blocks are read back from now (hours_back ≤ 720): a tree of the last weeks.
    ({ twin } = writeReportTree(join(dir, 'claude'), 31, '', { endingAt: Date.now() }));
    db = createSqliteDatabase();
    app = await startAppWithBridge(dir, db.env);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every block and gap of the last 30 days: times, entries, tokens, cost and models', async () => {
    const res = await fetch(`${app.url}/api/usage/sessions?hours_back=720&limit=1000`);
    expect(res.status).toBe(200);
    const ours = ((await res.json()) as { sessions: Json[] }).sessions;
    const since = Date.now() - 720 * 3_600_000;
    const theirs = ((await ccusage(twin, ['blocks'])).blocks as Json[]).filter(
      (b) => Date.parse(String(b.isGap ? b.endTime : b.actualEndTime)) >= since,
    );
    expect(ours.length).toBeGreaterThan(20);
    expect(ours.some((b) => b.is_gap)).toBe(true);
    const shape = (b: Json, [start, end, actualEnd, gap]: unknown[], tokens: object) => ({
      id: b.id,
      start,
      end,
      actualEnd,
      gap,
      entries: b.entries,
      tokens,
      models: [...(b.models as string[])].sort(),
    });
    expect(
      ours.map((b) => {
        const t = b.token_counts as Record<string, number>;
        return shape(b, [b.start_time, b.end_time, b.actual_end_time, b.is_gap], {
          input: t.input_tokens,
          output: t.output_tokens,
          cacheCreation: t.cache_creation_tokens,
          cacheRead: t.cache_read_tokens,
        });
      }),
    ).toEqual(
      theirs.map((b) => {
        const t = b.tokenCounts as Record<string, number>;
        return shape(b, [b.startTime, b.endTime, b.actualEndTime, b.isGap], {
          input: t.inputTokens,
          output: t.outputTokens,
          cacheCreation: t.cacheCreationInputTokens,
          cacheRead: t.cacheReadInputTokens,
        });
      }),
    );
    ours.forEach((b, i) =>
      expect(Math.abs((b.cost_usd as number) - (theirs[i].costUSD as number))).toBeLessThan(1e-6),
    );
  });
});
