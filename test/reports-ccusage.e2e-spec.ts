import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ccusage,
  expectSameDailyMonthlySessions,
  expectSameRows,
  expectSameTotals,
  type Json,
  type OurRow,
  type TheirRow,
} from './support/ccusage';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { TREE_PROJECTS, writeReportTree } from './support/report-tree';
import { startAppWithBridge, type RunningApp } from './support/test-app';

const ZONES = ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'America/St_Johns'];

const compact = (date: string) => date.replaceAll('-', '');

describe('usage reports equal ccusage 18.0.11, row by row', () => {
  let dir: string;
  let claude: string;
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
    writeReportTree(claude);
    db = createSqliteDatabase();
    app = await startAppWithBridge(dir, db.env);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe.each(ZONES)('in %s', (zone) => {
    it('daily, weekly (weeks from Monday), monthly and sessions', async () => {
      const [daily, weekly, monthly, sessions] = await Promise.all([
        ccusage(claude, ['daily', '--timezone', zone]),
        ccusage(claude, ['weekly', '--timezone', zone, '--start-of-week', 'monday']),
        ccusage(claude, ['monthly', '--timezone', zone]),
        ccusage(claude, ['session', '--timezone', zone]),
      ]);
      const ours = {
        daily: await report('daily', { timezone: zone }),
        weekly: await report('weekly', { timezone: zone, start_of_week: 'monday' }),
        monthly: await report('monthly', { timezone: zone }),
        sessions: await report('sessions', { timezone: zone }),
      };
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
      // Oldest first by default; the subagent's own folder is a session of its own.
      const dates = (ours.daily.daily as OurRow[]).map((r) => String(r.date));
      expect(dates).toEqual([...dates].sort());
      expect((ours.sessions.sessions as OurRow[]).some((r) => r.session_id === 'subagents')).toBe(
        true,
      );
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
      const [ours, theirs] = await Promise.all([report(kind, query), ccusage(claude, args)]);
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
    cpSync(join(claude, 'projects', project), join(alone, 'projects', project), {
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
});
