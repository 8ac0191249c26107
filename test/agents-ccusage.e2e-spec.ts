import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { startAppWithBridge, type RunningApp } from './support/test-app';

const AGENTS = ['codex', 'gemini', 'opencode', 'amp', 'all'] as const;

/**
 * The gateway's reports (through the bridge it runs) over Codex, Gemini CLI, OpenCode and Amp homes
 * beside a Claude Code folder, against `ccusage [agent] daily|monthly|session --json --offline`
 * (20.0.24) over the same folders: per agent and for all of them, row by row.
 */
describeWithCcusage('every agent’s reports equal ccusage 20.0.24, row by row', () => {
  let dir: string;
  let homes: AgentHomes;
  let folders: AgentFolders;
  let empty: string;
  let db: TestDatabase;
  let app: RunningApp;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-agents-'));
    homes = writeAgentHomes(dir);
    const claude = join(dir, 'claude');
    writeClaudeBeside(claude);
    folders = { claude, ...homes };
    empty = join(dir, 'empty-home');
    mkdirSync(empty);
    db = createSqliteDatabase();
    app = await startAppWithBridge(dir, {
      ...db.env,
      CODEX_HOME: homes.codexHome,
      GEMINI_DATA_DIR: homes.geminiDir,
      OPENCODE_DATA_DIR: homes.opencodeDir,
      AMP_DATA_DIR: homes.ampDir,
    });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const report = async (kind: string, query: Record<string, string>) => {
    const res = await fetch(`${app.url}/api/usage/reports/${kind}?${new URLSearchParams(query)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-data-source')).toMatch(/^(bridge|cache)$/);
    return (await res.json()) as Json;
  };

  describe.each(AGENT_REPORT_ZONES)('in %s', (zone) => {
    it.each(AGENTS)('%s: daily, monthly and sessions', async (agent) => {
      for (const [command, kind, key] of AGENT_REPORT_COMMANDS) {
        const [theirs, ours] = await Promise.all([
          ccusageAgent(agent, command, folders, empty, zone),
          report(kind, { timezone: zone, ...(agent === 'all' ? {} : { agent }) }),
        ]);
        expect(ours.agent).toBe(agent);
        expect((ours[kind] as Json[]).length, `${agent} ${command}`).toBeGreaterThan(0);
        expectSameAgentRows(ours[kind] as Json[], theirs.rows, (r) => String(r[key]));
        expect(ours.unpriced_models).toEqual([...theirs.unpriced].sort());
      }
    });
  });

  it('holds every case of the fixtures: forks, replays, archives, rewrites, tiers, unpriced', async () => {
    const sessions = (await report('sessions', { agent: 'all' })).sessions as Json[];
    const byAgent = (agent: string) => sessions.filter((s) => s.agent === agent);
    // Codex: five rollouts of two homes (the archived copy of an active one left out).
    expect(byAgent('codex')).toHaveLength(6);
    expect(
      byAgent('gemini')
        .map((s) => s.session_id)
        .sort(),
    ).toEqual([
      '1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b',
      '2b7c1e90-aaaa-4bbb-8ccc-123456789abc',
      '6c0e7a3b-1d2f-4a5b-9c8d-7e6f5a4b3c2d',
    ]);
    expect(
      byAgent('opencode')
        .map((s) => s.session_id)
        .sort(),
    ).toEqual(['ses_a', 'ses_b', 'ses_old']);
    expect(byAgent('amp')).toHaveLength(2);
    expect(byAgent('claude')).toHaveLength(1);
    const monthly = await report('monthly', { agent: 'all' });
    expect(monthly.unpriced_models).toEqual([
      'claude-opus-4-9',
      'gemini-9-ultra',
      'gpt-7-preview',
      'kimi-k9',
    ]);
  });

  it('refuses an unknown agent, naming the parameter', async () => {
    const res = await fetch(`${app.url}/api/usage/reports/daily?agent=cursor`);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field)).toEqual(['agent']);
  });
});
