import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { TREE_PROJECTS, writeReportTree } from './support/report-tree';
import { startAppWithBridge, type RunningApp } from './support/test-app';

const run = promisify(execFile);
const CCUSAGE = join(__dirname, '..', 'node_modules', 'ccusage', 'dist', 'index.js');
const ZONES = ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'America/St_Johns'];

type Json = Record<string, unknown>;
interface TheirRow extends Json {
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  totalTokens: number;
  totalCost: number;
  modelsUsed: string[];
  modelBreakdowns: {
    modelName: string;
    inputTokens: number;
    outputTokens: number;
    cacheCreationTokens: number;
    cacheReadTokens: number;
    cost: number;
  }[];
}
interface OurRow extends Json {
  input_tokens: number;
  output_tokens: number;
  cache_creation_tokens: number;
  cache_read_tokens: number;
  total_tokens: number;
  cost_usd: number;
  models: string[];
  model_breakdowns: {
    model: string;
    input_tokens: number;
    output_tokens: number;
    cache_creation_tokens: number;
    cache_read_tokens: number;
    cost_usd: number;
  }[];
}

/**
 * `ccusage <command> --json --offline --breakdown` (the pinned 18.0.11) on a Claude folder. TZ=UTC:
 * its weekly grouping reads the process's zone (a quirk); the report's zone is --timezone.
 */
async function ccusage(claudeDir: string, args: string[]): Promise<Json> {
  const { stdout } = await run(
    process.execPath,
    [CCUSAGE, ...args, '--json', '--offline', '--breakdown'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: claudeDir,
        TZ: 'UTC',
        CLAUDE_CONFIG_DIR: claudeDir,
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const parsed = JSON.parse(stdout) as Json | [];
  return Array.isArray(parsed) ? {} : parsed;
}

/** Both reports' rows, matched by key, every field compared (cost to 1e-6 USD). */
function expectSameRows(
  ours: OurRow[],
  theirs: TheirRow[],
  key: (row: Json) => string,
  theirKey: (row: Json) => string,
) {
  expect(ours.map(key).sort()).toEqual(theirs.map(theirKey).sort());
  const byKey = new Map(theirs.map((row) => [theirKey(row), row]));
  for (const row of ours) {
    const them = byKey.get(key(row))!;
    const where = key(row);
    expect(
      [
        row.input_tokens,
        row.output_tokens,
        row.cache_creation_tokens,
        row.cache_read_tokens,
        row.total_tokens,
      ],
      where,
    ).toEqual([
      them.inputTokens,
      them.outputTokens,
      them.cacheCreationTokens,
      them.cacheReadTokens,
      them.totalTokens,
    ]);
    expect(Math.abs(row.cost_usd - them.totalCost), where).toBeLessThan(1e-6);
    expect(row.models, where).toEqual([...them.modelsUsed].sort());
    const breakdown = (b: OurRow['model_breakdowns']) =>
      [...b].sort((x, y) => x.model.localeCompare(y.model));
    const theirBreakdown = [...them.modelBreakdowns].sort((x, y) =>
      x.modelName.localeCompare(y.modelName),
    );
    expect(
      breakdown(row.model_breakdowns).map((b) => b.model),
      where,
    ).toEqual(theirBreakdown.map((b) => b.modelName));
    breakdown(row.model_breakdowns).forEach((b, i) => {
      const t = theirBreakdown[i];
      expect(
        [b.input_tokens, b.output_tokens, b.cache_creation_tokens, b.cache_read_tokens],
        where,
      ).toEqual([t.inputTokens, t.outputTokens, t.cacheCreationTokens, t.cacheReadTokens]);
      expect(Math.abs(b.cost_usd - t.cost), where).toBeLessThan(1e-6);
    });
    // Costliest model first, as ccusage orders them.
    const costs = row.model_breakdowns.map((b) => b.cost_usd);
    expect(costs).toEqual([...costs].sort((a, b) => b - a));
  }
}

function expectSameTotals(ours: Json, theirs: Json) {
  const o = ours as Record<string, number>;
  const t = theirs as Record<string, number>;
  expect([
    o.input_tokens,
    o.output_tokens,
    o.cache_creation_tokens,
    o.cache_read_tokens,
    o.total_tokens,
  ]).toEqual([
    t.inputTokens,
    t.outputTokens,
    t.cacheCreationTokens,
    t.cacheReadTokens,
    t.totalTokens,
  ]);
  expect(Math.abs(o.cost_usd - t.totalCost)).toBeLessThan(1e-6);
}

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
      expectSameRows(
        ours.daily.daily as OurRow[],
        daily.daily as TheirRow[],
        (r) => String(r.date),
        (r) => String(r.date),
      );
      expectSameRows(
        ours.weekly.weekly as OurRow[],
        weekly.weekly as TheirRow[],
        (r) => String(r.week),
        (r) => String(r.week),
      );
      expectSameRows(
        ours.monthly.monthly as OurRow[],
        monthly.monthly as TheirRow[],
        (r) => String(r.month),
        (r) => String(r.month),
      );
      const sessionKey = (path: unknown, id: unknown, last: unknown) =>
        `${String(path)} ${String(id)} ${String(last)}`;
      expectSameRows(
        ours.sessions.sessions as OurRow[],
        sessions.sessions as TheirRow[],
        (r) => sessionKey(r.project_path, r.session_id, r.last_activity),
        (r) => sessionKey(r.projectPath, r.sessionId, r.lastActivity),
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
