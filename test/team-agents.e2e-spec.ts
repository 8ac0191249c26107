import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  AGENT_REPORT_COMMANDS,
  AGENT_REPORT_ZONES,
  writeAgentHomes,
  writeClaudeBeside,
  type AgentHomes,
} from './support/agent-homes';
import {
  ccusageAgent,
  describeWithCcusage,
  expectSameAgentRows,
  type AgentFolders,
  type Json,
} from './support/ccusage';
import { createMembers } from './support/members';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { type GatewayProcess, spawnGateway } from './support/gateway-process';

const KEY = 'team-agents-admin-key-0123456789ab';
const HOOK = join(__dirname, '..', 'bin', 'usage-gateway-hook');
const AGENTS = ['claude', 'codex', 'gemini', 'opencode', 'amp', 'all'] as const;

/**
 * Three members push their machines' agents with `usage-gateway-hook push` (the bridge's readers):
 * alice runs Codex (two homes), bob Gemini CLI and OpenCode, carol Amp and Claude Code. The team
 * reports then equal ccusage over the union of their data, per agent and for all of them, and
 * group by agent.
 */
describeWithCcusage('every agent pushed into the team ledger', () => {
  let dir: string;
  let db: TestDatabase;
  let gateway: GatewayProcess | undefined;
  let url: string;
  let homes: AgentHomes;
  let union: AgentFolders;
  let empty: string;
  const tokens: Record<string, string> = {};

  const admin = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: { 'x-api-key': KEY, 'content-type': 'application/json', ...init.headers },
    });
    return { status: res.status, json: (await res.json()) as Json };
  };
  const report = async (kind: string, query: Record<string, string>) => {
    const res = await admin(`/api/team/usage/reports/${kind}?${new URLSearchParams(query)}`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    return res.json;
  };
  /** `usage-gateway-hook push --all` as `member` with only these agents' folders. */
  const push = (member: string, folders: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const none = join(empty, 'none');
      const child = spawn(process.execPath, [HOOK, 'push', '--all', '--machine', `${member}-pc`], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: join(empty, member),
          CLAUDE_CONFIG_DIR: none,
          CODEX_HOME: none,
          GEMINI_DATA_DIR: none,
          OPENCODE_DATA_DIR: none,
          AMP_DATA_DIR: none,
          ...folders,
          USAGE_GATEWAY_URL: url,
          USAGE_GATEWAY_TOKEN: tokens[member],
          USAGE_GATEWAY_SPOOL_DIR: join(dir, `state-${member}`),
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-team-agents-'));
    homes = writeAgentHomes(join(dir, 'union'));
    const claude = join(dir, 'union', 'claude');
    writeClaudeBeside(claude);
    union = { claude, ...homes };
    empty = join(dir, 'empty');
    for (const sub of ['', 'alice', 'bob', 'carol'])
      mkdirSync(join(empty, sub), { recursive: true });
    db = createSqliteDatabase();
    gateway = spawnGateway({ ...db.env, PORT: '0', API_KEYS: KEY, HOME: join(dir, 'empty') });
    url = await gateway.listening;
    Object.assign(tokens, await createMembers(url, KEY, ['alice', 'bob', 'carol']));
    const runs = await Promise.all([
      push('alice', { CODEX_HOME: homes.codexHome }),
      push('bob', { GEMINI_DATA_DIR: homes.geminiDir, OPENCODE_DATA_DIR: homes.opencodeDir }),
      push('carol', { AMP_DATA_DIR: homes.ampDir, CLAUDE_CONFIG_DIR: claude }),
    ]);
    for (const run of runs) {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/: [1-9]\d* new/);
    }
  }, 120_000);
  afterAll(async () => {
    gateway?.child.kill('SIGTERM');
    await gateway?.exited;
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(AGENT_REPORT_ZONES)(
    'the team reports equal ccusage over the union, per agent (%s)',
    async (zone) => {
      for (const agent of AGENTS)
        for (const [command, kind, key] of AGENT_REPORT_COMMANDS) {
          const [theirs, ours] = await Promise.all([
            ccusageAgent(agent, command, union, empty, zone),
            report(kind, { timezone: zone, agent }),
          ]);
          expect((ours[kind] as Json[]).length, `${agent} ${command}`).toBeGreaterThan(0);
          expectSameAgentRows(ours[kind] as Json[], theirs.rows, (r) => String(r[key]));
        }
    },
  );

  it('groups by agent: each agent’s rows are its own report, each member’s usage its agents', async () => {
    const grouped = await report('monthly', { group_by: 'agent' });
    const rows = grouped.monthly as Json[];
    for (const agent of AGENTS.filter((a) => a !== 'all')) {
      const own = (await report('monthly', { agent })).monthly as Json[];
      const mine = rows.filter((r) => r.agent === agent);
      expect(mine.map((r) => [r.month, r.total_tokens, r.cost_usd])).toEqual(
        own.map((r) => [r.month, r.total_tokens, r.cost_usd]),
      );
    }
    const byMember = (await report('monthly', { group_by: 'member' })).monthly as Json[];
    const agentsOf = (member: string) =>
      [
        ...new Set(
          byMember.filter((r) => r.member === member).flatMap((r) => r.agents as string[]),
        ),
      ].sort();
    expect(agentsOf('alice')).toEqual(['codex']);
    expect(agentsOf('bob')).toEqual(['gemini', 'opencode']);
    expect(agentsOf('carol')).toEqual(['amp', 'claude']);
  });

  it('brings alice’s Codex windows with her push: her limits list them (the fixtures’ are over)', async () => {
    const res = await fetch(`${url}/api/usage/limits`, {
      headers: { authorization: `Bearer ${tokens.alice}` },
    });
    const limits = (await res.json()) as { member: string; windows: Json[] };
    expect(limits.member).toBe('alice');
    expect(
      limits.windows.filter((w) => w.agent === 'codex').map((w) => [w.window, w.missing]),
    ).toEqual([
      ['five_hour', 'expired'],
      ['seven_day', 'expired'],
    ]);
    // bob runs no Codex: Claude Code's windows only.
    const bob = (await (
      await fetch(`${url}/api/usage/limits`, { headers: { authorization: `Bearer ${tokens.bob}` } })
    ).json()) as { windows: Json[] };
    expect(bob.windows.map((w) => w.agent)).toEqual(['claude', 'claude']);
  });

  it('a push again sends only what changed, and counts nothing twice', async () => {
    const before = await report('monthly', { agent: 'all' });
    const again = await push('bob', {
      GEMINI_DATA_DIR: homes.geminiDir,
      OPENCODE_DATA_DIR: homes.opencodeDir,
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/: 0 new/);
    expect((await report('monthly', { agent: 'all' })).totals).toEqual(before.totals);
  });
});
