import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ccusage,
  describeWithCcusage,
  expectSameDailyMonthlySessions,
  expectSameTotals,
  type Json,
  type OurRow,
  type TheirRow,
} from './support/ccusage';
import { createMembers } from './support/members';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { type GatewayProcess, spawnGateway } from './support/gateway-process';
import { TREE_PROJECTS, writeReportTree } from './support/report-tree';
import { freePort, waitFor } from './support/wait';

const KEY = 'team-push-admin-key-0123456789abc';
const HOOK = join(__dirname, '..', 'bin', 'usage-gateway-hook');

interface PushRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * docs/design.md §9's log push, the way members run it: `usage-gateway-hook push` (the bridge's parser
 * in python3) from three machines' log trees into one gateway process, one push cut short by
 * SIGKILLing the gateway and run again; the team reports then equal ccusage over the union of the
 * three trees, and stay so when the trees are deleted.
 */
describeWithCcusage('log push into the team ledger', () => {
  let dir: string;
  let db: TestDatabase;
  let port: number;
  let gateway: GatewayProcess | undefined;
  let url: string;
  const tokens: Record<string, string> = {};
  const trees = { a: '', b: '', c: '' };
  const twins = { a: '', b: '', c: '' };

  const start = async () => {
    gateway = spawnGateway({ ...db.env, PORT: String(port), API_KEYS: KEY });
    url = await gateway.listening;
  };
  const admin = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: { 'x-api-key': KEY, 'content-type': 'application/json', ...init.headers },
    });
    return { status: res.status, json: (await res.json()) as Json };
  };
  const pushArgs = (member: string, tree: string, machine: string, extra: string[] = []) => ({
    args: [HOOK, 'push', '--machine', machine, ...extra],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: tree,
      CLAUDE_CONFIG_DIR: tree,
      USAGE_GATEWAY_URL: url,
      USAGE_GATEWAY_TOKEN: tokens[member],
      USAGE_GATEWAY_SPOOL_DIR: join(dir, `state-${machine}`),
    },
  });
  const push = (member: string, tree: string, machine: string, extra: string[] = []) => {
    const { args, env } = pushArgs(member, tree, machine, extra);
    const child = spawn(process.execPath, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const done = new Promise<PushRun>((resolve) =>
      child.on('exit', (code) => resolve({ code, stdout, stderr })),
    );
    return { child, done };
  };
  const report = async (kind: string, query: Record<string, string>) => {
    const res = await admin(`/api/team/usage/reports/${kind}?${new URLSearchParams(query)}`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    return res.json;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-push-'));
    trees.a = join(dir, 'a');
    trees.b = join(dir, 'b');
    trees.c = join(dir, 'c');
    twins.a = writeReportTree(trees.a, 13, 'a').twin;
    twins.b = writeReportTree(trees.b, 14, 'b').twin;
    twins.c = writeReportTree(trees.c, 15, 'c').twin;
    // Synced folders: one of a's session files is on b as well, another on c (the same lines).
    const [p0, p1] = TREE_PROJECTS;
    const fileOf = (project: string, n: number) =>
      join('projects', project, `a${project.slice(-4)}-${n}-0000-4000-8000-00000000000${n}.jsonl`);
    const synced = [fileOf(p0, 1), fileOf(p1, 2)];
    for (const [from, to] of [
      [trees, trees],
      [twins, twins],
    ] as const) {
      mkdirSync(join(to.b, 'projects', p0, 'synced'), { recursive: true });
      cpSync(join(from.a, synced[0]), join(to.b, 'projects', p0, 'synced', 'copy.jsonl'));
      cpSync(join(from.a, synced[0]), join(to.b, synced[0]));
      cpSync(join(from.a, synced[1]), join(to.c, synced[1]));
    }
    db = createSqliteDatabase();
    port = await freePort();
    await start();
    Object.assign(tokens, await createMembers(url, KEY, ['alice', 'bob']));
  }, 120_000);
  afterAll(async () => {
    gateway?.child.kill('SIGTERM');
    await gateway?.exited;
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pushes three machines, one push cut short by a gateway SIGKILL and resumed', async () => {
    const first = await push('alice', trees.a, 'laptop-a', ['--all']).done;
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/usage-push: \d+ entries from \d+ files .* as laptop-a: \d+ new/);

    // Small batches, so the gateway dies between two of them.
    const state = join(dir, 'state-laptop-b', 'push-state.json');
    const cut = push('alice', trees.b, 'laptop-b', ['--all', '--batch', '5']);
    await waitFor(() => (existsSync(state) ? true : undefined), 30_000, 'a first batch stored');
    gateway!.child.kill('SIGKILL');
    await gateway!.exited;
    const interrupted = await cut.done;
    expect(interrupted.code).toBe(1);
    expect(interrupted.stderr).toMatch(/could not reach .*run it again/);
    const cursors = JSON.parse(readFileSync(state, 'utf8')) as {
      gateways: Record<string, { files: Record<string, { offset: number }> }>;
    };
    expect(Object.keys(Object.values(cursors.gateways)[0].files).length).toBeGreaterThan(0);

    await start();
    const resumed = await push('alice', trees.b, 'laptop-b', ['--all']).done;
    expect(resumed.code).toBe(0);
    const third = await push('bob', trees.c, 'desk-c', ['--all']).done;
    expect(third.code).toBe(0);
    // bob's copy of alice's synced file counts once: as hers, pushed first.
    expect(third.stdout).toMatch(/ [1-9]\d* already there/);
  }, 120_000);

  // ccusage over the trees' twins (see ReportTree): the figures of the rules the ledger keeps.
  const union = () => [twins.a, twins.b, twins.c].join(',');

  describe.each(['UTC', 'Europe/Berlin'])(
    'the team reports equal ccusage over a,b,c in %s',
    (zone) => {
      it('daily, monthly and sessions row by row; weeks against ccusage’s daily rows', async () => {
        const [daily, monthly, sessions] = await Promise.all([
          ccusage(union(), ['daily', '--timezone', zone]),
          ccusage(union(), ['monthly', '--timezone', zone]),
          ccusage(union(), ['session', '--timezone', zone]),
        ]);
        const ours = {
          daily: await report('daily', { timezone: zone }),
          weekly: await report('weekly', { timezone: zone, start_of_week: 'monday' }),
          monthly: await report('monthly', { timezone: zone }),
          sessions: await report('sessions', { timezone: zone }),
        };
        expect((ours.daily.daily as OurRow[]).length).toBeGreaterThan(40);
        expectSameDailyMonthlySessions(ours, { daily, monthly, sessions });
        // Weeks (from Monday): ccusage's daily rows summed per week.
        const weeks = new Map<string, { tokens: number; cost: number }>();
        for (const row of daily.daily as TheirRow[]) {
          const day = new Date(`${String(row.date)}T00:00:00Z`);
          day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
          const week = day.toISOString().slice(0, 10);
          const sum = weeks.get(week) ?? { tokens: 0, cost: 0 };
          weeks.set(week, { tokens: sum.tokens + row.totalTokens, cost: sum.cost + row.totalCost });
        }
        const ourWeeks = ours.weekly.weekly as OurRow[];
        expect(ourWeeks.map((r) => String(r.week))).toEqual([...weeks.keys()].sort());
        for (const row of ourWeeks) {
          const theirs = weeks.get(String(row.week))!;
          expect(row.total_tokens, String(row.week)).toBe(theirs.tokens);
          expect(Math.abs(row.cost_usd - theirs.cost)).toBeLessThan(1e-6);
        }
        for (const kind of ['daily', 'monthly', 'sessions'] as const)
          expectSameTotals(
            ours[kind].totals as Json,
            { daily, monthly, sessions }[kind].totals as Json,
          );
        expectSameTotals(ours.weekly.totals as Json, daily.totals as Json);
      });
    },
  );

  it('splits by member and machine; the parts add up to the team', async () => {
    const all = await report('monthly', {});
    const byMember = await report('monthly', { group_by: 'member' });
    const byMachine = await report('daily', { group_by: 'machine' });
    const members = new Set((byMember.monthly as Json[]).map((r) => r.member));
    expect([...members].sort()).toEqual(['alice', 'bob']);
    const machines = new Set((byMachine.daily as Json[]).map((r) => r.machine));
    expect([...machines].sort()).toEqual(['desk-c', 'laptop-a', 'laptop-b']);
    for (const split of [byMember, byMachine])
      expect((split.totals as Json).total_tokens).toBe((all.totals as Json).total_tokens);
    const bobs = await report('monthly', { member: 'bob' });
    const bobRows = (byMember.monthly as Json[]).filter((r) => r.member === 'bob');
    expect((bobs.totals as Json).total_tokens).toBe(
      bobRows.reduce((sum, r) => sum + (r.total_tokens as number), 0),
    );
    const csv = await fetch(`${url}/api/team/usage/reports/daily?group_by=member&format=csv`, {
      headers: { 'x-api-key': KEY },
    });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await csv.text()).split('\r\n')[0]).toBe(
      'date,member,input_tokens,output_tokens,cache_creation_tokens,cache_read_tokens,total_tokens,cost_usd,reasoning_output_tokens,models,agents',
    );
  });

  it('a resend counts nothing twice, and the history stays when the logs are deleted', async () => {
    const before = await report('daily', { timezone: 'UTC' });
    const again = await push('alice', trees.a, 'laptop-a', ['--all']).done;
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/: 0 new, [1-9]\d* already there/);
    for (const tree of Object.values(trees)) rmSync(join(tree, 'projects'), { recursive: true });
    const after = await report('daily', { timezone: 'UTC' });
    expect(after).toEqual(before);
    // Nothing left to push is not an error.
    const empty = await push('bob', trees.c, 'desk-c').done;
    expect(empty.code).toBe(0);
  });
});
