import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect } from 'vitest';

const run = promisify(execFile);
// ccusage 20's launcher: it runs the native binary of this platform (@ccusage/ccusage-<os>-<cpu>).
const CCUSAGE = join(__dirname, '..', '..', 'node_modules', 'ccusage', 'src', 'cli.js');

/**
 * ccusage 20 is a native binary, published for linux, macOS and Windows on x64 and arm64; where
 * this machine's is not installed the comparisons say so and skip — never in CI, which runs them.
 */
const NATIVE = join(
  __dirname,
  '..',
  '..',
  'node_modules',
  '@ccusage',
  `ccusage-${process.platform}-${process.arch}`,
);
export const describeWithCcusage: typeof describe =
  existsSync(NATIVE) || process.env.CI === 'true' ? describe : (describe.skip as typeof describe);
if (!existsSync(NATIVE))
  console.warn(
    `ccusage 20's native binary for ${process.platform}-${process.arch} is not installed: comparisons skipped`,
  );

export type Json = Record<string, unknown>;
export interface TheirRow extends Json {
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
export interface OurRow extends Json {
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
 * `ccusage <command> --json --offline --breakdown` (the pinned 20.0.24) on a Claude folder (or
 * several, comma-separated, as CLAUDE_CONFIG_DIR takes them). TZ=UTC:
 * its weekly grouping reads the process's zone (a quirk); the report's zone is --timezone.
 */
export async function ccusage(claudeDir: string, args: string[]): Promise<Json> {
  const { stdout } = await run(
    process.execPath,
    // Reports of Claude Code alone (`ccusage daily` is every agent's since 20); blocks are Claude's.
    [
      CCUSAGE,
      ...(args[0] === 'blocks' ? [] : ['claude']),
      ...args,
      '--json',
      '--offline',
      '--breakdown',
    ],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: claudeDir.split(',')[0],
        TZ: 'UTC',
        CLAUDE_CONFIG_DIR: claudeDir,
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const parsed = JSON.parse(stdout) as Json | [];
  return Array.isArray(parsed) ? {} : parsed;
}

/** Our row's four token counts and total, in ccusage's order. */
const ourTokens = (row: OurRow) => [
  row.input_tokens,
  row.output_tokens,
  row.cache_creation_tokens,
  row.cache_read_tokens,
  row.total_tokens,
];

/** Both reports' rows, matched by key, every field compared (cost to 1e-6 USD). */
export function expectSameRows(
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
    expect(ourTokens(row), where).toEqual([
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

export function expectSameTotals(ours: Json, theirs: Json) {
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

/**
 * Our daily, monthly and sessions reports against ccusage's (`daily`, `monthly`, `session`), row
 * by row: days by date, months by month, sessions by project path and session id (and their first
 * and last activity, unless `activity` is false: the team ledger's sessions report has no first
 * activity yet and gives the last as a local date).
 */
export function expectSameDailyMonthlySessions(
  ours: { daily: Json; monthly: Json; sessions: Json },
  theirs: { daily: Json; monthly: Json; sessions: Json },
  activity = true,
) {
  expectSameRows(
    ours.daily.daily as OurRow[],
    theirs.daily.daily as TheirRow[],
    (r) => String(r.date),
    (r) => String(r.date),
  );
  expectSameRows(
    ours.monthly.monthly as OurRow[],
    theirs.monthly.monthly as TheirRow[],
    (r) => String(r.month),
    (r) => String(r.month),
  );
  // A session by its project path and id, and (when `activity`) its first and last activity.
  const sessionKey = (path: unknown, id: unknown, first: unknown, last: unknown) =>
    activity
      ? `${String(path)} ${String(id)} ${String(first)} ${String(last)}`
      : `${String(path)} ${String(id)}`;
  expectSameRows(
    ours.sessions.sessions as OurRow[],
    theirs.sessions.sessions as TheirRow[],
    (r) => sessionKey(r.project_path, r.session_id, r.first_activity, r.last_activity),
    (r) => sessionKey(r.projectPath, r.sessionId, r.firstActivity, r.lastActivity),
  );
}

/** The folders of the agents a report is asked over (unset: none of that agent's data). */
export interface AgentFolders {
  claude?: string;
  codexHome?: string;
  geminiDir?: string;
  opencodeDir?: string;
  ampDir?: string;
}

/** A row of any ccusage 20 report, in one shape (its commands' JSON differ by agent). */
export interface CcusageRow {
  key: string;
  tokens: [number, number, number, number, number];
  reasoning?: number;
  cost: number;
  models: string[];
  breakdowns: { model: string; tokens: [number, number, number, number]; cost?: number }[];
  agents?: string[];
  lastActivity?: string;
}

/**
 * `ccusage [agent] <daily|monthly|session> --json --offline --timezone <zone>` over these folders
 * only (HOME is an empty folder: no other agent's data is found). `agent` `all`: `ccusage <command>`.
 */
export async function ccusageAgent(
  agent: string,
  command: 'daily' | 'monthly' | 'session',
  folders: AgentFolders,
  home: string,
  zone: string,
): Promise<{ rows: CcusageRow[]; unpriced: string[] }> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home, TZ: 'UTC' };
  if (folders.claude) env.CLAUDE_CONFIG_DIR = folders.claude;
  if (folders.codexHome) env.CODEX_HOME = folders.codexHome;
  if (folders.geminiDir) env.GEMINI_DATA_DIR = folders.geminiDir;
  if (folders.opencodeDir) env.OPENCODE_DATA_DIR = folders.opencodeDir;
  if (folders.ampDir) env.AMP_DATA_DIR = folders.ampDir;
  const { stdout } = await run(
    process.execPath,
    [
      CCUSAGE,
      ...(agent === 'all' ? [] : [agent]),
      command,
      '--json',
      '--offline',
      '--breakdown',
      '--timezone',
      zone,
    ],
    { env, maxBuffer: 64 * 1024 * 1024 },
  );
  const parsed = JSON.parse(stdout) as Record<string, unknown>;
  const list = (parsed[command] ?? parsed[`${command}s`] ?? []) as Json[];
  const totals = (parsed.totals ?? {}) as Json;
  const num = (value: unknown) => Number(value ?? 0);
  const rows = list.map((r): CcusageRow => {
    const meta = (r.metadata ?? {}) as Json;
    const perModel = r.models as Record<string, Json> | undefined;
    const tokens = (b: Json): [number, number, number, number] => [
      num(b.inputTokens),
      num(b.outputTokens),
      num(b.cacheCreationTokens),
      num(b.cacheReadTokens),
    ];
    // Codex's commands give per-model figures without costs (`models`), the others breakdowns.
    const breakdowns = Array.isArray(r.modelBreakdowns)
      ? (r.modelBreakdowns as Json[]).map((b) => ({
          model: String(b.modelName),
          tokens: tokens(b),
          cost: num(b.cost),
        }))
      : Object.entries(perModel ?? {}).map(([model, b]) => ({ model, tokens: tokens(b) }));
    return {
      key: String(r.date ?? r.month ?? r.sessionId ?? r.period),
      tokens: [
        num(r.inputTokens),
        num(r.outputTokens),
        num(r.cacheCreationTokens),
        num(r.cacheReadTokens),
        num(r.totalTokens),
      ],
      reasoning: (r.reasoningOutputTokens ?? meta.reasoningOutputTokens) as number | undefined,
      cost: num(r.totalCost ?? r.costUSD),
      models: (r.modelsUsed as string[] | undefined) ?? Object.keys(perModel ?? {}),
      breakdowns,
      agents: (meta.agents as string[] | undefined) ?? (r.agent ? [String(r.agent)] : undefined),
      lastActivity: (r.lastActivity ?? meta.lastActivity) as string | undefined,
    };
  });
  return { rows, unpriced: (totals.unpricedModels as string[] | undefined) ?? [] };
}

/** Our report's rows against ccusage's, by key: tokens exact, costs to 1e-6 USD, models. */
export function expectSameAgentRows(
  ours: Json[],
  theirs: CcusageRow[],
  key: (row: Json) => string,
) {
  expect(ours.map(key).sort()).toEqual(theirs.map((r) => r.key).sort());
  const byKey = new Map(theirs.map((row) => [row.key, row]));
  for (const row of ours as (OurRow & Json)[]) {
    const where = key(row);
    const them = byKey.get(where)!;
    expect(ourTokens(row), where).toEqual(them.tokens);
    if (them.reasoning !== undefined)
      expect(row.reasoning_output_tokens, where).toBe(them.reasoning);
    expect(Math.abs(row.cost_usd - them.cost), where).toBeLessThan(1e-6);
    expect(row.models, where).toEqual([...them.models].sort());
    if (them.agents) expect(row.agents ?? [row.agent], where).toEqual([...them.agents].sort());
    if (them.lastActivity) expect(row.last_activity, where).toBe(them.lastActivity);
    const mine = new Map(row.model_breakdowns.map((b) => [b.model, b]));
    for (const b of them.breakdowns) {
      const m = mine.get(b.model)!;
      expect(
        [m.input_tokens, m.output_tokens, m.cache_creation_tokens, m.cache_read_tokens],
        `${where} ${b.model}`,
      ).toEqual(b.tokens);
      if (b.cost !== undefined) expect(Math.abs(m.cost_usd - b.cost)).toBeLessThan(1e-6);
    }
    expect(mine.size, where).toBe(them.breakdowns.length);
  }
}
