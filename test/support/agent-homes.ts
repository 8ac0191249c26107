import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { writeUsageLog } from './usage-logs';

/**
 * Homes of OpenAI Codex CLI, Gemini CLI and OpenCode holding every case their readers must count
 * (docs/agents.md), written in the agents' own shapes: Codex's rollout lines
 * (`codex-rs/protocol/src/protocol.rs`: session_meta, turn_context, event_msg token_count with
 * TokenUsageInfo and rate limits), Gemini CLI's chat records (`chatRecordingTypes.ts`: a metadata
 * line, MessageRecords, `$set` and `$rewindTo` lines; the JSON file of versions before 0.39) and
 * OpenCode's SQLite `message` table and legacy `storage/message` files (`message-v2.ts`: modelID,
 * providerID, tokens, cost, time). (No vitest import: the benches use it too.)
 *
 * Times crowd around local midnights and America/New_York's DST change (1 November 2026, 06:00
 * UTC) so that day and month rows differ by time zone.
 */
export interface AgentHomes {
  /** CODEX_HOME: two homes, comma-separated. */
  readonly codexHome: string;
  readonly geminiDir: string;
  readonly opencodeDir: string;
  readonly ampDir: string;
}

const line = (value: unknown) => `${JSON.stringify(value)}\n`;

export function write(path: string, text: string) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

interface CodexUsage {
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_output_tokens: number;
  total_tokens: number;
}

export const usage = (
  input: number,
  cached: number,
  output: number,
  reasoning: number,
): CodexUsage => ({
  input_tokens: input,
  cached_input_tokens: cached,
  output_tokens: output,
  reasoning_output_tokens: reasoning,
  total_tokens: input + output,
});

const plus = (a: CodexUsage, b: CodexUsage): CodexUsage => ({
  input_tokens: a.input_tokens + b.input_tokens,
  cached_input_tokens: a.cached_input_tokens + b.cached_input_tokens,
  output_tokens: a.output_tokens + b.output_tokens,
  reasoning_output_tokens: a.reasoning_output_tokens + b.reasoning_output_tokens,
  total_tokens: a.total_tokens + b.total_tokens,
});

const ZERO = usage(0, 0, 0, 0);

function rateLimits(at: string, used: number) {
  const seconds = Math.floor(Date.parse(at) / 1000);
  return {
    limit_id: 'codex',
    primary: { used_percent: used, window_minutes: 300, resets_at: seconds + 3600 },
    secondary: { used_percent: used / 4, window_minutes: 10080, resets_at: seconds + 86400 },
    credits: null,
    plan_type: 'plus',
  };
}

/** A Codex rollout being written: its lines so far, and its running total. */
export class Rollout {
  readonly lines: string[] = [];
  private total = ZERO;

  constructor(
    readonly id: string,
    start: string,
    cwd: string,
    source: unknown = 'cli',
    extra: Record<string, unknown> = {},
  ) {
    this.lines.push(
      line({
        timestamp: start,
        type: 'session_meta',
        payload: {
          id,
          timestamp: start,
          cwd,
          originator: 'codex_cli_rs',
          cli_version: '0.63.0',
          instructions: null,
          source,
          model_provider: 'openai',
          ...extra,
        },
      }),
      line({
        timestamp: start,
        type: 'response_item',
        payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
      }),
    );
  }

  turn(at: string, model: string) {
    this.lines.push(
      line({
        timestamp: at,
        type: 'turn_context',
        payload: {
          cwd: '/home/dev/shop',
          approval_policy: 'on-request',
          sandbox_policy: { type: 'workspace-write', network_access: false },
          model,
          effort: 'medium',
          summary: 'auto',
        },
      }),
    );
    return this;
  }

  /** A token count with the last turn's usage and the running total (`mode`: which of them). */
  count(at: string, last: CodexUsage, mode: 'both' | 'total' | 'last' = 'both', model?: string) {
    this.total = plus(this.total, last);
    const info: Record<string, unknown> = { model_context_window: 272000 };
    if (mode !== 'last') info.total_token_usage = this.total;
    if (mode !== 'total') info.last_token_usage = last;
    if (model) info.model = model;
    this.lines.push(
      line({
        timestamp: at,
        type: 'event_msg',
        payload: { type: 'token_count', info, rate_limits: rateLimits(at, 10) },
      }),
    );
    return this;
  }

  /** A token count without usage (`info: null`): rate limits only. */
  limitsOnly(at: string) {
    this.lines.push(
      line({
        timestamp: at,
        type: 'event_msg',
        payload: { type: 'token_count', info: null, rate_limits: rateLimits(at, 20) },
      }),
    );
    return this;
  }

  raw(text: string) {
    this.lines.push(`${text}\n`);
    return this;
  }

  text() {
    return this.lines.join('');
  }
}

/** A rollout under `sessions/<day>/` of a Codex home. */
function writeRollout(home: string, day: string, name: string, rollout: Rollout) {
  write(join(home, 'sessions', ...day.split('/'), name), rollout.text());
}

function writeCodex(root: string): string {
  const first = join(root, 'codex-home');
  const second = join(root, 'codex-work');
  // A plain session: last and total usage, `info: null`, a total-only count, around midnights
  // and the DST change, and a broken line.
  const main = new Rollout(
    '0199a1b2-0000-7000-8000-000000000001',
    '2026-10-31T22:10:00.000Z',
    '/home/dev/shop',
  )
    .turn('2026-10-31T22:10:01.000Z', 'gpt-5.1-codex')
    .count('2026-10-31T22:10:05.120Z', usage(12000, 8000, 900, 300))
    .limitsOnly('2026-10-31T22:10:06.000Z')
    .count('2026-11-01T03:50:00.000Z', usage(30000, 24000, 1500, 700), 'total')
    .count('2026-11-01T05:30:00.000Z', usage(5000, 0, 200, 0))
    .raw(
      '{"timestamp":"2026-11-01T05:31:00.000Z","type":"event_msg","payload":{"type":"token_count","info":{',
    )
    .turn('2026-11-01T06:20:00.000Z', 'gpt-5.2-codex')
    .count('2026-11-01T06:30:00.000Z', usage(40000, 30000, 2500, 1000))
    .count('2026-11-02T04:59:00.000Z', usage(1000, 0, 100, 50), 'last');
  writeRollout(
    first,
    '2026/10/31',
    'rollout-2026-10-31T22-10-00-0199a1b2-0000-7000-8000-000000000001.jsonl',
    main,
  );
  // A fork of it: the parent's history replayed line for line, then its own turns.
  const fork = new Rollout(
    '0199a1b2-0000-7000-8000-000000000002',
    '2026-11-01T07:00:00.000Z',
    '/home/dev/shop',
    'cli',
    {
      forked_from_id: '0199a1b2-0000-7000-8000-000000000001',
    },
  );
  // (A fork copies the history it was made from: the parent's lines before 07:00.)
  fork.lines.push(
    ...main.lines.slice(2).filter((text) => text.slice(14, 38) < '2026-11-01T07:00:00.000Z'),
  );
  fork
    .count('2026-11-01T07:05:00.000Z', usage(9000, 6000, 400, 100))
    .count('2026-11-02T05:01:00.000Z', usage(3000, 1000, 300, 0));
  writeRollout(
    first,
    '2026/11/01',
    'rollout-2026-11-01T07-00-00-0199a1b2-0000-7000-8000-000000000002.jsonl',
    fork,
  );
  // No turn_context before its first count: priced as gpt-5 and flagged; then one arrives.
  const early = new Rollout(
    '0199a1b2-0000-7000-8000-000000000003',
    '2026-11-15T09:00:00.000Z',
    '/home/dev/bank',
  )
    .count('2026-11-15T09:00:10.000Z', usage(7000, 2000, 600, 200))
    .turn('2026-11-15T09:01:00.000Z', 'gpt-5.1-codex-mini')
    .count('2026-11-15T09:01:10.000Z', usage(4000, 1000, 300, 100));
  writeRollout(
    first,
    '2026/11/15',
    'rollout-2026-11-15T09-00-00-0199a1b2-0000-7000-8000-000000000003.jsonl',
    early,
  );
  // A sub-agent: it opens by replaying its parent's usage in one second (skipped), then works.
  const spawn = {
    subagent: {
      thread_spawn: { parent_thread_id: '0199a1b2-0000-7000-8000-000000000003', depth: 1 },
    },
  };
  const sub = new Rollout(
    '0199a1b2-0000-7000-8000-000000000004',
    '2026-11-15T09:02:00.000Z',
    '/home/dev/bank',
    spawn,
  )
    .turn('2026-11-15T09:02:00.100Z', 'gpt-5.1-codex-mini')
    .count('2026-11-15T09:02:00.200Z', usage(7000, 2000, 600, 200), 'total')
    .count('2026-11-15T09:02:00.300Z', usage(4000, 1000, 300, 100), 'total')
    .count('2026-11-15T09:03:00.000Z', usage(2500, 500, 250, 50), 'total');
  writeRollout(
    first,
    '2026/11/15',
    'rollout-2026-11-15T09-02-00-0199a1b2-0000-7000-8000-000000000004.jsonl',
    sub,
  );
  // Archived: a copy of an active rollout's path (the active one counts) and one of its own.
  write(
    join(
      first,
      'archived_sessions',
      '2026',
      '11',
      '15',
      'rollout-2026-11-15T09-00-00-0199a1b2-0000-7000-8000-000000000003.jsonl',
    ),
    new Rollout('x', '2026-11-15T09:00:00.000Z', '/home/dev/bank')
      .turn('2026-11-15T09:00:01.000Z', 'gpt-5')
      .count('2026-11-15T09:30:00.000Z', usage(99999, 0, 9999, 0))
      .text(),
  );
  write(
    join(
      first,
      'archived_sessions',
      'rollout-2026-09-30T23-00-00-0199a1b2-0000-7000-8000-000000000005.jsonl',
    ),
    new Rollout(
      '0199a1b2-0000-7000-8000-000000000005',
      '2026-09-30T23:00:00.000Z',
      '/home/dev/docs',
    )
      .turn('2026-09-30T23:00:01.000Z', 'gpt-5-codex')
      .count('2026-09-30T23:59:30.000Z', usage(20000, 15000, 1200, 400))
      .count('2026-10-01T04:10:00.000Z', usage(8000, 4000, 500, 100))
      .text(),
  );
  // A second home (CODEX_HOME is a comma list): a long prompt past gpt-5.4's 272k tier, a model
  // without a price, and a model named on the token count itself.
  write(
    join(
      second,
      'sessions',
      '2026',
      '11',
      '20',
      'rollout-2026-11-20T12-00-00-0199a1b2-0000-7000-8000-000000000006.jsonl',
    ),
    new Rollout('0199a1b2-0000-7000-8000-000000000006', '2026-11-20T12:00:00.000Z', '/srv/api')
      .turn('2026-11-20T12:00:01.000Z', 'gpt-5.4')
      .count('2026-11-20T12:00:30.000Z', usage(300000, 250000, 4000, 1500))
      .count('2026-11-20T12:01:30.000Z', usage(100000, 90000, 1000, 0))
      .turn('2026-11-20T12:02:00.000Z', 'gpt-7-preview')
      .count('2026-11-20T12:02:30.000Z', usage(1000, 0, 100, 0))
      .count('2026-11-20T12:03:30.000Z', usage(2000, 0, 200, 0), 'both', 'gpt-5.5')
      .text(),
  );
  return `${first},${second}`;
}

interface GeminiTokens {
  input: number;
  output: number;
  cached: number;
  thoughts: number;
  tool: number;
  total: number;
}

const tokens = (
  input: number,
  cached: number,
  output: number,
  thoughts = 0,
  tool = 0,
): GeminiTokens => ({
  input,
  output,
  cached,
  thoughts,
  tool,
  total: input + output + thoughts + tool,
});

function geminiMessage(id: string, at: string, model: string, t: GeminiTokens | null) {
  return {
    id,
    timestamp: at,
    type: 'gemini',
    content: [{ text: 'done' }],
    thoughts: [],
    tokens: t,
    model,
  };
}

function writeGemini(root: string): string {
  const dir = join(root, 'gemini-tmp');
  const hash = 'a3f1c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778';
  // 0.39+: JSONL — metadata, messages, a gemini message written again once its tokens arrive
  // (the last write counts), `$set` and `$rewindTo` lines.
  const meta = {
    sessionId: '6c0e7a3b-1d2f-4a5b-9c8d-7e6f5a4b3c2d',
    projectHash: hash,
    startTime: '2026-10-31T23:40:00.000Z',
    lastUpdated: '2026-10-31T23:40:00.000Z',
    kind: 'main',
  };
  const jsonl = [
    line(meta),
    line({
      id: 'u-1',
      timestamp: '2026-10-31T23:40:00.000Z',
      type: 'user',
      content: [{ text: 'fix it' }],
    }),
    line(geminiMessage('g-1', '2026-10-31T23:40:05.000Z', 'gemini-2.5-pro', null)),
    line({ $set: { lastUpdated: '2026-10-31T23:40:05.000Z' } }),
    line(
      geminiMessage(
        'g-1',
        '2026-10-31T23:40:05.000Z',
        'gemini-2.5-pro',
        tokens(18000, 12000, 700, 450),
      ),
    ),
    line(
      geminiMessage(
        'g-2',
        '2026-11-01T05:45:00.000Z',
        'gemini-2.5-pro',
        tokens(240000, 0, 3000, 1200, 500),
      ),
    ),
    line({ $rewindTo: 'g-2' }),
    line(
      geminiMessage(
        'g-3',
        '2026-11-01T06:15:00.000Z',
        'gemini-2.5-flash',
        tokens(9000, 3000, 400, 0, 100),
      ),
    ),
    line(geminiMessage('g-4', '2026-11-01T06:16:00.000Z', 'gemini-9-ultra', tokens(500, 0, 50))),
    line({ $set: { lastUpdated: '2026-11-01T06:16:00.000Z', summary: 'fixed it' } }),
    '{"id":"g-5","timestamp":"2026-11-01T06:17:00.000Z","type":"gemini","tokens":{"input":1',
    '\n',
  ].join('');
  write(join(dir, hash, 'chats', 'session-2026-10-31T23-40-6c0e7a3b.jsonl'), jsonl);
  // A sub-agent's chat, under its parent session's folder.
  write(
    join(
      dir,
      hash,
      'chats',
      '6c0e7a3b-1d2f-4a5b-9c8d-7e6f5a4b3c2d',
      '2b7c1e90-aaaa-4bbb-8ccc-123456789abc.jsonl',
    ),
    [
      line({
        sessionId: '2b7c1e90-aaaa-4bbb-8ccc-123456789abc',
        projectHash: hash,
        startTime: '2026-11-01T06:00:00.000Z',
        lastUpdated: '2026-11-01T06:00:00.000Z',
        kind: 'subagent',
      }),
      line(
        geminiMessage(
          's-1',
          '2026-11-01T06:01:00.000Z',
          'gemini-3-flash-preview',
          tokens(4000, 1000, 300, 120),
        ),
      ),
    ].join(''),
  );
  // Before 0.39: one JSON object per session.
  write(
    join(
      dir,
      'b9e8d7c6b5a4938271605f4e3d2c1b0a99887766554433221100ffeeddccbbaa',
      'chats',
      'session-2026-11-30T23-55-1f2e3d4c.json',
    ),
    JSON.stringify({
      sessionId: '1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b',
      projectHash: 'b9e8d7c6b5a4938271605f4e3d2c1b0a99887766554433221100ffeeddccbbaa',
      startTime: '2026-11-30T23:55:00.000Z',
      lastUpdated: '2026-12-01T00:20:00.000Z',
      messages: [
        {
          id: 'u-1',
          timestamp: '2026-11-30T23:55:00.000Z',
          type: 'user',
          content: [{ text: 'hello' }],
        },
        geminiMessage(
          'm-1',
          '2026-11-30T23:58:00.000Z',
          'gemini-3-pro-preview',
          tokens(60000, 20000, 2000, 800),
        ),
        geminiMessage(
          'm-2',
          '2026-12-01T00:20:00.000Z',
          'gemini-2.5-flash-lite',
          tokens(3000, 0, 200),
        ),
      ],
    }),
  );
  // Gemini CLI's prompt log beside the chats: an array, not a session (nothing to count).
  write(
    join(dir, hash, 'logs.json'),
    JSON.stringify([
      {
        sessionId: meta.sessionId,
        messageId: 0,
        type: 'user',
        message: 'fix it',
        timestamp: '2026-10-31T23:40:00.000Z',
      },
    ]),
  );
  return dir;
}

interface OpenCodeTokens {
  input: number;
  output: number;
  reasoning: number;
  cache: { read: number; write: number };
  total?: number;
}

function assistant(
  id: string,
  session: string,
  created: number,
  model: string,
  provider: string,
  t: OpenCodeTokens,
  cost = 0,
) {
  return {
    id,
    sessionID: session,
    role: 'assistant',
    time: { created, completed: created + 4000 },
    parentID: `${id}-user`,
    modelID: model,
    providerID: provider,
    mode: 'build',
    agent: 'build',
    path: { cwd: '/home/dev/shop', root: '/home/dev/shop' },
    cost,
    tokens: t,
    finish: 'stop',
  };
}

const t = (
  input: number,
  output: number,
  reasoning: number,
  read: number,
  write: number,
  total?: number,
): OpenCodeTokens => ({
  input,
  output,
  reasoning,
  cache: { read, write },
  ...(total === undefined ? {} : { total }),
});

function writeOpenCode(root: string): string {
  const dir = join(root, 'opencode');
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'opencode.db'));
  db.pragma('journal_mode = WAL');
  db.exec(
    'CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL)',
  );
  const insert = db.prepare('INSERT INTO message VALUES (?, ?, ?, ?, ?)');
  const at = (iso: string) => Date.parse(iso);
  const rows: [string, string, string, unknown][] = [
    [
      'msg_01',
      'ses_a',
      '2026-10-31T23:59:00.000Z',
      assistant(
        'msg_01',
        'ses_a',
        at('2026-10-31T23:59:00.000Z'),
        'claude-sonnet-4-5',
        'anthropic',
        t(1200, 800, 0, 40000, 6000),
      ),
    ],
    [
      'msg_02',
      'ses_a',
      '2026-11-01T05:40:00.000Z',
      assistant(
        'msg_02',
        'ses_a',
        at('2026-11-01T05:40:00.000Z'),
        'gpt-5.1-codex',
        'openai',
        t(3000, 900, 400, 12000, 0),
      ),
    ],
    [
      'msg_03',
      'ses_a',
      '2026-11-01T06:40:00.000Z',
      assistant(
        'msg_03',
        'ses_a',
        at('2026-11-01T06:40:00.000Z'),
        'gemini-2.5-pro',
        'google',
        t(210000, 2000, 600, 0, 0, 213500),
      ),
    ],
    // Its recorded cost wins over the table.
    [
      'msg_04',
      'ses_b',
      '2026-11-20T10:00:00.000Z',
      assistant(
        'msg_04',
        'ses_b',
        at('2026-11-20T10:00:00.000Z'),
        'claude-opus-4-5',
        'anthropic',
        t(500, 300, 0, 9000, 1000),
        0.0421,
      ),
    ],
    [
      'msg_05',
      'ses_b',
      '2026-11-20T10:05:00.000Z',
      assistant(
        'msg_05',
        'ses_b',
        at('2026-11-20T10:05:00.000Z'),
        'kimi-k9',
        'moonshot',
        t(700, 100, 0, 0, 0),
      ),
    ],
    // Still streaming: no tokens yet (not counted).
    [
      'msg_06',
      'ses_b',
      '2026-11-20T10:06:00.000Z',
      assistant(
        'msg_06',
        'ses_b',
        at('2026-11-20T10:06:00.000Z'),
        'gpt-5.2',
        'openai',
        t(0, 0, 0, 0, 0),
      ),
    ],
    [
      'msg_07',
      'ses_b',
      '2026-11-20T10:07:00.000Z',
      assistant(
        'msg_07',
        'ses_b',
        at('2026-11-20T10:07:00.000Z'),
        'gpt-5.2',
        'openai',
        t(4000, 350, 120, 1000, 0, 5470),
      ),
    ],
  ];
  for (const [id, session, created, data] of rows)
    insert.run(id, session, at(created), at(created), JSON.stringify(data));
  // A user message (no tokens) and a row whose data is not JSON: not counted.
  insert.run(
    'msg_08',
    'ses_b',
    at('2026-11-20T10:08:00.000Z'),
    at('2026-11-20T10:08:00.000Z'),
    JSON.stringify({
      id: 'msg_08',
      sessionID: 'ses_b',
      role: 'user',
      time: { created: at('2026-11-20T10:08:00.000Z') },
    }),
  );
  insert.run('msg_09', 'ses_b', 0, 0, '{"id":"msg_09",');
  db.close();
  // Before the database: one JSON file per message. One repeats a database row (the row counts).
  const legacy = join(dir, 'storage', 'message');
  write(
    join(legacy, 'ses_a', 'msg_02.json'),
    JSON.stringify(
      assistant(
        'msg_02',
        'ses_a',
        at('2026-11-01T05:40:00.000Z'),
        'gpt-5.1-codex',
        'openai',
        t(99999, 9999, 0, 0, 0),
      ),
    ),
  );
  write(
    join(legacy, 'ses_old', 'msg_00.json'),
    JSON.stringify(
      assistant(
        'msg_00',
        'ses_old',
        at('2026-09-30T22:30:00.000Z'),
        'claude-sonnet-4-5',
        'anthropic',
        t(2000, 1500, 0, 30000, 4000),
      ),
    ),
  );
  return dir;
}

/** Amp's threads (`threads/T-<uuid>.json`, ccusage's Amp adapter): one with a usage ledger (cache
 * figures from the message each event points to), one with usage on its messages only. */
function writeAmp(root: string): string {
  const dir = join(root, 'amp');
  const threads = join(dir, 'threads');
  write(
    join(threads, 'T-5d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b.json'),
    JSON.stringify({
      v: 42,
      id: 'T-5d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
      created: Date.parse('2026-10-31T23:20:00.000Z'),
      title: 'Fix the build',
      messages: [
        { role: 'user', messageId: 0, content: [{ type: 'text', text: 'fix the build' }] },
        {
          role: 'assistant',
          messageId: 1,
          content: [{ type: 'text', text: 'done' }],
          usage: {
            model: 'claude-sonnet-4-5-20250929',
            inputTokens: 12,
            outputTokens: 640,
            cacheCreationInputTokens: 5200,
            cacheReadInputTokens: 21000,
            totalInputTokens: 26212,
            timestamp: '2026-10-31T23:21:00.000Z',
          },
        },
        {
          role: 'assistant',
          messageId: 3,
          content: [{ type: 'text', text: 'and the tests' }],
          usage: {
            model: 'claude-sonnet-4-5-20250929',
            inputTokens: 8,
            outputTokens: 320,
            cacheCreationInputTokens: 900,
            cacheReadInputTokens: 26000,
            timestamp: '2026-11-01T06:05:00.000Z',
          },
        },
      ],
      usageLedger: {
        events: [
          {
            id: 'e-1',
            timestamp: '2026-10-31T23:21:00.000Z',
            model: 'claude-sonnet-4-5-20250929',
            credits: 3.2,
            tokens: { input: 12, output: 640 },
            operationType: 'inference',
            fromMessageId: 0,
            toMessageId: 1,
          },
          {
            id: 'e-2',
            timestamp: '2026-11-01T06:05:00.000Z',
            model: 'claude-sonnet-4-5-20250929',
            credits: 1.9,
            tokens: { input: 8, output: 320, total: 27500 },
            operationType: 'inference',
            fromMessageId: 2,
            toMessageId: 3,
          },
          {
            id: 'e-3',
            timestamp: '2026-11-01T06:06:00.000Z',
            model: 'gpt-5.1',
            credits: 0.4,
            tokens: { total: 900 },
            operationType: 'oracle',
          },
        ],
      },
    }),
  );
  write(
    join(threads, 'T-9a8b7c6d-5e4f-4321-8fed-cba987654321.json'),
    JSON.stringify({
      v: 7,
      id: 'T-9a8b7c6d-5e4f-4321-8fed-cba987654321',
      created: Date.parse('2026-11-20T09:00:00.000Z'),
      messages: [
        { role: 'user', messageId: 0, content: [{ type: 'text', text: 'explain' }] },
        {
          role: 'assistant',
          messageId: 1,
          content: [],
          usage: {
            model: 'claude-haiku-4-5-20251001',
            inputTokens: 10,
            outputTokens: 178,
            cacheCreationInputTokens: 986,
            cacheReadInputTokens: 11372,
            timestamp: '2026-11-20T09:00:10.652Z',
          },
        },
        {
          role: 'assistant',
          messageId: 2,
          content: [],
          usage: {
            model: 'claude-opus-4-9',
            inputTokens: 5,
            outputTokens: 42,
            timestamp: '2026-11-20T09:01:00.000Z',
          },
        },
      ],
    }),
  );
  return dir;
}

/** The time zones the agents' reports are compared in: UTC, and one whose clocks went back in
 * the middle of the data (1 November 2026). */
export const AGENT_REPORT_ZONES = ['UTC', 'America/New_York'];
/** ccusage's command, our report kind and its row key. */
export const AGENT_REPORT_COMMANDS = [
  ['daily', 'daily', 'date'],
  ['monthly', 'monthly', 'month'],
  ['session', 'sessions', 'session_id'],
] as const;

/** Claude Code beside the other agents, on the same days (one session, 12 requests). */
export function writeClaudeBeside(claudeDir: string): string {
  return writeUsageLog(claudeDir, {
    start: Date.parse('2026-10-31T23:30:00.000Z'),
    count: 12,
    everyMs: 90 * 60_000,
    usage: (i) => ({
      input_tokens: 100 + i,
      output_tokens: 300,
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 9000 + i,
    }),
  });
}

export function writeAgentHomes(root: string): AgentHomes {
  return {
    codexHome: writeCodex(root),
    geminiDir: writeGemini(root),
    opencodeDir: writeOpenCode(root),
    ampDir: writeAmp(root),
  };
}
