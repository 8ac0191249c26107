import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalLedgerFeed, localMachine } from '../src/team/local-ledger-feed';
import { createSqliteDatabase, queryDatabase, type TestDatabase } from './support/databases';
import { writeReportTree } from './support/report-tree';
import { startAppWithBridge, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

interface Report {
  monthly: { month: string; total_tokens: number; cost_usd: number; machine?: string }[];
  totals: { total_tokens: number; cost_usd: number };
}

/**
 * The third way into the ledger (docs/design.md §9): the gateway's own machine. With the spawned bridge
 * (the default), its logs go into the team ledger as member `local` on this host's name — the
 * same rows as the machine's own reports — and a line written later follows.
 */
describe("this machine's logs in the team ledger", () => {
  let dir: string;
  let db: TestDatabase;
  let app: RunningApp;

  const get = async <T>(path: string): Promise<T> =>
    (await (await fetch(`${app.url}${path}`)).json()) as T;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-local-ledger-'));
    writeReportTree(join(dir, 'claude'), 21, 'l');
    db = createSqliteDatabase();
    app = await startAppWithBridge(dir, { ...db.env, TEAM_LOCAL_LEDGER_INTERVAL_MS: '1000' });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the team report equals the machine report, month by month, as member local on this host', async () => {
    const machine = await get<Report>('/api/usage/reports/monthly?timezone=UTC');
    expect(machine.monthly.length).toBeGreaterThan(0);
    const team = await waitFor(
      async () => {
        const report = await get<Report>('/api/team/usage/reports/monthly?timezone=UTC');
        return report.totals.total_tokens === machine.totals.total_tokens ? report : undefined;
      },
      30_000,
      "this machine's history in the ledger",
    );
    expect(team.monthly.map((r) => [r.month, r.total_tokens])).toEqual(
      machine.monthly.map((r) => [r.month, r.total_tokens]),
    );
    expect(Math.abs(team.totals.cost_usd - machine.totals.cost_usd)).toBeLessThan(1e-6);
    const byMachine = await get<Report>('/api/team/usage/reports/monthly?group_by=machine');
    expect([...new Set(byMachine.monthly.map((r) => r.machine))]).toEqual([localMachine()]);
    const sources = await queryDatabase<{ source: string; member: string }>(
      db,
      'SELECT DISTINCT source, member FROM usage_entries',
    );
    expect(sources).toEqual([{ source: 'local', member: 'local' }]);
  });

  it('a line written later reaches the ledger on the next run', async () => {
    const before = (await get<Report>('/api/team/usage/reports/monthly')).totals.total_tokens;
    appendFileSync(
      join(dir, 'claude', 'projects', '-home-me-shop', 'later.jsonl'),
      `${JSON.stringify({
        type: 'assistant',
        timestamp: new Date().toISOString(),
        requestId: 'req_local_later',
        message: {
          id: 'msg_local_later',
          model: 'claude-sonnet-4-5-20250929',
          usage: { input_tokens: 1234, output_tokens: 10 },
        },
      })}\n`,
    );
    await waitFor(
      async () =>
        (await get<Report>('/api/team/usage/reports/monthly')).totals.total_tokens === before + 1244
          ? true
          : undefined,
      30_000,
      'the new line in the ledger',
    );
    // Used this month: `local` is a member of the team summary, on this host.
    const summary = await get<{ members: { member: string; machines: string[] }[] }>(
      '/api/team/usage',
    );
    expect(summary.members.map((m) => [m.member, m.machines])).toEqual([
      ['local', [localMachine()]],
    ]);
  });
});

describe('a push of this machine that exits before its answer', () => {
  let dir: string;
  let db: TestDatabase;
  let app: RunningApp;

  afterAll(async () => {
    await app?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves the gateway serving (the answer into its closed stdin is dropped, not thrown)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-local-ledger-epipe-'));
    // The push sends one batch and exits at once; the bridge itself runs as usual.
    const python = join(dir, 'python3');
    writeFileSync(
      python,
      [
        '#!/bin/sh',
        'case "$1" in *usage_push.py)',
        `  echo '{"machine":"m","entries":[{"ts":${Date.now()},"model":"claude-sonnet-4-5","session_id":"s","project_path":"p","project":"p","message_id":"msg_x","request_id":"req_x","input_tokens":1,"output_tokens":1,"cache_creation_tokens":0,"cache_read_tokens":0}]}'`,
        '  exit 0;;',
        'esac',
        `exec ${process.env.PYTHON ?? 'python3'} "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    db = createSqliteDatabase();
    app = await startAppWithBridge(dir, {
      ...db.env,
      BRIDGE_PYTHON: python,
      TEAM_LOCAL_LEDGER_INTERVAL_MS: '500',
    });
    // Several pushes have run and exited (their batch stored each time, once).
    await waitFor(
      async () => {
        const rows = await queryDatabase<{ n: number }>(
          db,
          "SELECT COUNT(*) AS n FROM usage_entries WHERE source = 'local'",
        );
        return Number(rows[0]?.n) === 1 || undefined;
      },
      20_000,
      'the batch of the exiting push stored',
    );
    const runs = app.app.get(LocalLedgerFeed);
    await runs.run();
    await runs.run();
    expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
  }, 60_000);
});
