import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DatabaseWrites } from '../../database/database-writes';
import { isUniqueViolation } from '../../database/database-errors';
import { planMerge } from './ledger-merge';
import { chunks, dialectOf, lockInOrder, SqlParams } from '../../database/sql';
import { teamShard } from './usage-rollup.entity';
import type { UsageCounts } from './usage-counts';
import { type EntrySource, UsageEntry } from './usage-entry.entity';
import { sha256Hex } from '../../common/sha256-hex';
import type { Agent } from '../../usage/agents';

/** One request as a way in hands it over (the ledger row without its key hash and times). */
export interface LedgerInput {
  /** What identifies the request (hashed into `entry_key`): see UsageEntry. */
  readonly key: string;
  /** Keys its request's lines had under earlier rules (rows stored under them are replaced). */
  readonly legacyKeys: readonly string[];
  readonly requestId: string | null;
  readonly messageId: string | null;
  readonly sidechain: boolean;
  readonly source: EntrySource;
  readonly agent: Agent;
  readonly member: string;
  readonly machine: string;
  readonly project: string;
  readonly sessionId: string;
  readonly projectPath: string;
  readonly claudeSession: string | null;
  readonly model: string;
  readonly ts: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheCreationTokens: number;
  readonly cacheReadTokens: number;
  readonly reasoningTokens: number;
  readonly extraTokens: number;
  readonly costUsd: number;
  readonly reportedCostUsd: number | null;
  readonly attributes: Record<string, string> | null;
}

export interface LedgerResult {
  /** Stored now. */
  readonly accepted: number;
  /** Already in the ledger as well or better (or twice in this batch). */
  readonly duplicates: number;
  /** Stored rows replaced by a better line of their request (a streamed message's partial line
   * by its billed one, an OTLP row by its log line, a side-chain replay by the main chain's). */
  readonly superseded: number;
}

export const QUARTER_MS = 15 * 60 * 1000;
export const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows per INSERT (SQLite allows 32,766 parameters; 20 columns × 200 rows stays far below). */
const CHUNK = 200;
/** Transactions one instance runs at once, and the inputs one of them takes at most. */
const MAX_PARALLEL = 4;
const MAX_PARALLEL_BULK = 2;
const MAX_BATCH = 2000;
/** A write of this many inputs or more goes in the bulk lane. */
const BULK = 50;

interface Lane {
  readonly waiting: Waiting[];
  running: number;
  readonly parallel: number;
}

interface Waiting {
  readonly inputs: readonly LedgerInput[];
  readonly receivedAt: number;
  readonly resolve: (result: LedgerResult) => void;
  readonly reject: (error: unknown) => void;
}

/** What one transaction did: the keys it stored, and the rows replaced per key hash. */
interface Outcome {
  readonly inserted: ReadonlySet<string>;
  readonly superseded: ReadonlyMap<string, number>;
}

/** A concurrent instance stored the same key between our look-up and our insert: again. */
const MAX_RACE_RETRIES = 3;

/** Another instance removed a row this transaction meant to replace: the batch runs again. */
class LedgerRace extends Error {}

const distinct = (values: readonly (string | null)[]): string[] =>
  [...new Set(values.filter((v): v is string => v !== null))].sort();
/** pg_advisory_xact_lock's first key: the ledger's request and message locks. */
const REQUEST_LOCK_SPACE = 0x4c656467;

export const entryKeyHash = (key: string): string => sha256Hex(key);

type Sums = [number, number, number, number, number, number, number, number];
const SUMS = [
  'input_tokens',
  'output_tokens',
  'cache_creation_tokens',
  'cache_read_tokens',
  'cost_usd',
  'entries',
  'reasoning_tokens',
  'extra_tokens',
];

/**
 * The roll-ups kept in the ledger's transaction: per quarter hour × member × machine × model ×
 * project (reports filtered or grouped by machine or project), per quarter hour × model (the
 * whole team's report), per quarter hour × member × model (the summary, budgets, reports by
 * member) and per UTC day × member × model (reports by member over days), per ccusage session × member × machine × model (the sessions report, with its last
 * activity).
 */
const ROLLUPS: readonly {
  table: string;
  keys: string[];
  key: (row: RowLike) => unknown[];
  extraColumns?: string[];
  extra?: (row: RowLike) => unknown[];
  /** Keeps its rows' first and last entry times. */
  times?: boolean;
}[] = [
  {
    table: 'usage_rollups',
    keys: ['quarter', 'agent', 'member', 'machine', 'model', 'project'],
    key: (row) => [
      Math.floor(row.ts / QUARTER_MS),
      row.agent,
      row.member,
      row.machine,
      row.model,
      row.project,
    ],
  },
  {
    table: 'usage_team_rollups',
    keys: ['quarter', 'agent', 'model', 'shard'],
    key: (row) => [Math.floor(row.ts / QUARTER_MS), row.agent, row.model, teamShard(row.member)],
  },
  {
    table: 'usage_member_rollups',
    keys: ['quarter', 'agent', 'member', 'model'],
    key: (row) => [Math.floor(row.ts / QUARTER_MS), row.agent, row.member, row.model],
  },
  {
    table: 'usage_member_days',
    keys: ['day', 'agent', 'member', 'model'],
    key: (row) => [Math.floor(row.ts / DAY_MS), row.agent, row.member, row.model],
  },
  {
    table: 'usage_session_rollups',
    keys: ['agent', 'member', 'machine', 'project_path', 'session_id', 'model'],
    key: (row) => [row.agent, row.member, row.machine, row.projectPath, row.sessionId, row.model],
    extraColumns: ['project'],
    extra: (row) => [row.project],
    times: true,
  },
];
const INSERT_COLUMNS =
  'entry_key, request_id, message_id, sidechain, source, agent, member, machine, project, session_id, ' +
  'project_path, claude_session, model, ts, input_tokens, output_tokens, cache_creation_tokens, ' +
  'cache_read_tokens, reasoning_tokens, extra_tokens, cost_usd, reported_cost_usd, attributes, received_at';
const STORED_COLUMNS =
  'id, entry_key, request_id, message_id, sidechain, source, agent, member, machine, project, ' +
  'session_id, project_path, model, ts, input_tokens, output_tokens, cache_creation_tokens, ' +
  'cache_read_tokens, reasoning_tokens, extra_tokens, cost_usd';

/** A stored row as the driver returns it (PostgreSQL's BIGINTs as strings). */
interface RawRow {
  id: number | string;
  entry_key: string;
  request_id: string | null;
  message_id: string | null;
  sidechain: boolean | number;
  source: string;
  agent: string;
  member: string;
  machine: string;
  project: string;
  session_id: string;
  project_path: string;
  model: string;
  ts: number | string;
  input_tokens: number | string;
  output_tokens: number | string;
  cache_creation_tokens: number | string;
  cache_read_tokens: number | string;
  reasoning_tokens: number | string;
  extra_tokens: number | string;
  cost_usd: number | string;
}
type StoredRow = RowLike & {
  id: number;
  requestId: string | null;
  source: string;
  sidechain: boolean;
};

const storedRow = (row: RawRow): StoredRow => ({
  id: Number(row.id),
  requestId: row.request_id,
  source: row.source,
  sidechain: Boolean(row.sidechain),
  agent: row.agent as Agent,
  member: row.member,
  machine: row.machine,
  project: row.project,
  sessionId: row.session_id,
  projectPath: row.project_path,
  model: row.model,
  ts: Number(row.ts),
  inputTokens: Number(row.input_tokens),
  outputTokens: Number(row.output_tokens),
  cacheCreationTokens: Number(row.cache_creation_tokens),
  cacheReadTokens: Number(row.cache_read_tokens),
  reasoningTokens: Number(row.reasoning_tokens),
  extraTokens: Number(row.extra_tokens),
  costUsd: Number(row.cost_usd),
});

type RowLike = Pick<
  UsageEntry,
  'agent' | 'member' | 'machine' | 'model' | 'project' | 'projectPath' | 'sessionId' | 'ts'
> &
  UsageCounts;

/**
 * Writes the ledger: each request once (docs/design.md §9), its roll-ups in the same transaction. On
 * PostgreSQL several instances write at once: the request ids of a batch are locked (advisory,
 * in order) so an OTLP row and the pushed line of the same request never both land, and a key
 * another instance stored in between makes the batch run again.
 */
@Injectable()
export class LedgerStore {
  /**
   * Two lanes: small writes (an OTLP export, a hook's push of a few lines) never wait behind a
   * backfill's thousands of lines.
   */
  private readonly lanes: Record<'small' | 'bulk', Lane> = {
    small: { waiting: [], running: 0, parallel: MAX_PARALLEL },
    bulk: { waiting: [], running: 0, parallel: MAX_PARALLEL_BULK },
  };

  constructor(private readonly writes: DatabaseWrites) {}

  /**
   * Stores `inputs` (one caller's); resolves with what became of them. Callers that arrive while
   * transactions are running wait and go together in the next one (at most MAX_PARALLEL at a
   * time per instance and lane, MAX_BATCH inputs each): under load a burst of small OTLP exports
   * costs a few transactions, not one each.
   */
  ingest(inputs: readonly LedgerInput[], receivedAt: number): Promise<LedgerResult> {
    if (inputs.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0, superseded: 0 });
    const lane = this.lanes[inputs.length >= BULK ? 'bulk' : 'small'];
    return new Promise((resolve, reject) => {
      lane.waiting.push({ inputs, receivedAt, resolve, reject });
      this.pump(lane);
    });
  }

  private pump(lane: Lane): void {
    while (lane.running < lane.parallel && lane.waiting.length > 0) {
      const batch: Waiting[] = [];
      let size = 0;
      while (
        lane.waiting.length > 0 &&
        (batch.length === 0 || size + lane.waiting[0].inputs.length <= MAX_BATCH)
      ) {
        const next = lane.waiting.shift()!;
        batch.push(next);
        size += next.inputs.length;
      }
      lane.running++;
      void this.commit(batch).finally(() => {
        lane.running--;
        this.pump(lane);
      });
    }
  }

  /** One transaction for the batch's callers; each gets its own inputs' outcome. */
  private async commit(batch: readonly Waiting[]): Promise<void> {
    const inputs = batch.flatMap((w) => w.inputs);
    // Each input's key hash, once (retries and the callers' outcomes use the same ones).
    const keys = inputs.map((input) => entryKeyHash(input.key));
    const receivedAt = Math.max(...batch.map((w) => w.receivedAt));
    try {
      let outcome: Outcome | undefined;
      for (let attempt = 0; outcome === undefined; attempt++) {
        try {
          outcome = await this.writes.transaction((m) =>
            this.ingestIn(m, inputs, keys, receivedAt),
          );
        } catch (error) {
          if (
            !(isUniqueViolation(error) || error instanceof LedgerRace) ||
            attempt >= MAX_RACE_RETRIES
          )
            throw error;
        }
      }
      // Each stored key and each replacement counts for the first caller that brought it.
      const claimed = new Set<string>();
      const credited = new Set<string>();
      let at = 0;
      for (const waiting of batch) {
        let accepted = 0;
        let superseded = 0;
        for (let i = 0; i < waiting.inputs.length; i++) {
          const hash = keys[at++];
          const replaced = outcome.superseded.get(hash) ?? 0;
          if (replaced && !credited.has(hash)) {
            credited.add(hash);
            superseded += replaced;
          }
          if (!outcome.inserted.has(hash) || claimed.has(hash)) continue;
          claimed.add(hash);
          accepted++;
        }
        waiting.resolve({ accepted, duplicates: waiting.inputs.length - accepted, superseded });
      }
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }

  private async ingestIn(
    m: EntityManager,
    inputs: readonly LedgerInput[],
    keys: readonly string[],
    receivedAt: number,
  ): Promise<Outcome> {
    const legacy = inputs.map((input) => input.legacyKeys.map(entryKeyHash));
    const requestIds = distinct(inputs.map((i) => i.requestId));
    const messageIds = distinct(inputs.map((i) => i.messageId));
    // Writers of the same request or message take turns (two instances at once): in one order.
    await lockInOrder(m, REQUEST_LOCK_SPACE, [
      ...requestIds.map((id) => `q:${id}`),
      ...messageIds.map((id) => `m:${id}`),
    ]);
    // What is stored already of these requests, in one read: their keys (and earlier rules'),
    // request ids and message ids.
    const stored = new Map<number, RawRow>();
    const lookups: [string, string[]][] = [
      ['entry_key', [...new Set([...keys, ...legacy.flat()])].sort()],
      ['request_id', requestIds],
      ['message_id', messageIds],
    ];
    const rounds = Math.max(...lookups.map(([, values]) => Math.ceil(values.length / 500)));
    for (let round = 0; round < rounds; round++) {
      const params = SqlParams.for(m);
      const where = lookups
        .map(([column, values]) => [column, values.slice(round * 500, (round + 1) * 500)] as const)
        .filter(([, values]) => values.length > 0)
        .map(([column, values]) => `${column} ${params.in(values)}`);
      const found = (await m.query(
        `SELECT ${STORED_COLUMNS} FROM usage_entries WHERE ${where.join(' OR ')}`,
        params.values,
      )) as RawRow[];
      for (const row of found) stored.set(Number(row.id), row);
    }
    const plan = planMerge(
      inputs.map((input, i) => ({
        line: input,
        hash: keys[i],
        legacy: legacy[i],
        requestId: input.requestId,
        messageId: input.messageId,
      })),
      [...stored.values()].map((raw) => {
        const row = storedRow(raw);
        return {
          id: row.id,
          line: row,
          hash: raw.entry_key,
          legacy: [],
          requestId: raw.request_id,
          messageId: raw.message_id,
        };
      }),
    );
    const removed = plan.remove.map((r) => r.line);
    for (const chunk of chunks(removed, 500)) {
      const params = SqlParams.for(m);
      const ids = chunk.map((row) => row.id);
      const gone = (await m.query(
        `DELETE FROM usage_entries WHERE id ${params.in(ids)}`,
        params.values,
      )) as unknown;
      // Another instance replaced one of them in between: read again (the batch runs again).
      // (PostgreSQL answers [rows, count]; SQLite's writes take turns.)
      if (params.dialect === 'postgres' && Array.isArray(gone) && gone[1] !== ids.length)
        throw new LedgerRace();
    }
    const fresh = plan.insert.map((item) => ({ ...item.line, entryKey: item.hash }));
    for (const chunk of chunks(fresh, CHUNK)) {
      const params = SqlParams.for(m);
      const rows = chunk.map((e) =>
        params.row([
          e.entryKey,
          e.requestId,
          e.messageId,
          e.sidechain,
          e.source,
          e.agent,
          e.member,
          e.machine,
          e.project,
          e.sessionId,
          e.projectPath,
          e.claudeSession,
          e.model,
          e.ts,
          e.inputTokens,
          e.outputTokens,
          e.cacheCreationTokens,
          e.cacheReadTokens,
          e.reasoningTokens,
          e.extraTokens,
          e.costUsd,
          e.reportedCostUsd,
          e.attributes === null ? null : JSON.stringify(e.attributes),
          receivedAt,
        ]),
      );
      await m.query(
        `INSERT INTO usage_entries (${INSERT_COLUMNS}) VALUES ${rows.join(', ')}`,
        params.values,
      );
    }
    await this.roll(m, fresh, removed);
    return { inserted: new Set(fresh.map((e) => e.entryKey)), superseded: plan.replaced };
  }

  /** Adds the new rows to the roll-ups and takes the replaced ones out, in key order. */
  private async roll(
    m: EntityManager,
    added: readonly RowLike[],
    removed: readonly RowLike[],
  ): Promise<void> {
    const dialect = dialectOf(m);
    for (const rollup of ROLLUPS) {
      const groups = new Map<
        string,
        { key: unknown[]; extra: unknown[]; sums: Sums; first: number; last: number }
      >();
      const add = (row: RowLike, sign: 1 | -1) => {
        const key = rollup.key(row);
        const id = JSON.stringify(key);
        const values: Sums = [
          sign * row.inputTokens,
          sign * row.outputTokens,
          sign * row.cacheCreationTokens,
          sign * row.cacheReadTokens,
          sign * row.costUsd,
          sign,
          sign * row.reasoningTokens,
          sign * row.extraTokens,
        ];
        // A row that leaves moves neither time (they are worked out again below).
        const first = sign > 0 ? row.ts : Number.MAX_SAFE_INTEGER;
        const last = sign > 0 ? row.ts : 0;
        const group = groups.get(id);
        if (!group)
          groups.set(id, { key, extra: rollup.extra?.(row) ?? [], sums: values, first, last });
        else {
          for (let i = 0; i < values.length; i++) group.sums[i] += values[i];
          group.first = Math.min(group.first, first);
          group.last = Math.max(group.last, last);
        }
      };
      for (const row of added) add(row, 1);
      for (const row of removed) add(row, -1);
      const ordered = [...groups.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, group]) => group);
      const times = rollup.times ? ['first_ts', 'last_ts'] : [];
      const columns = [...rollup.keys, ...(rollup.extraColumns ?? []), ...SUMS, ...times];
      const updates = SUMS.map((c) => `${c} = ${rollup.table}.${c} + excluded.${c}`);
      const sql = new SqlParams(dialect);
      if (rollup.times)
        updates.push(
          `first_ts = ${sql.least(`${rollup.table}.first_ts`, 'excluded.first_ts')}`,
          `last_ts = ${sql.greatest(`${rollup.table}.last_ts`, 'excluded.last_ts')}`,
        );
      for (const chunk of chunks(ordered, CHUNK)) {
        const params = new SqlParams(dialect);
        const rows = chunk.map((g) =>
          params.row([...g.key, ...g.extra, ...g.sums, ...(rollup.times ? [g.first, g.last] : [])]),
        );
        await m.query(
          `INSERT INTO ${rollup.table} (${columns.join(', ')}) VALUES ${rows.join(', ')} ` +
            `ON CONFLICT (${rollup.keys.join(', ')}) DO UPDATE SET ${updates.join(', ')}`,
          params.values,
        );
      }
      if (removed.length === 0) continue;
      // Rows replaced: a group left without entries goes (not a row of zeros, nor of rounding
      // left-overs of its cost), and a session's first and last activity are read again.
      const touched = [
        ...new Map(
          removed.map((row) => [JSON.stringify(rollup.key(row)), rollup.key(row)]),
        ).values(),
      ];
      for (const key of touched) {
        // `alias.column = ?` for each key column, its values appended to params.
        const match = (params: SqlParams, alias = '') =>
          rollup.keys
            .map((column, i) => `${alias}${column} = ${params.value(key[i])}`)
            .join(' AND ');
        const gone = new SqlParams(dialect);
        await m.query(
          `DELETE FROM ${rollup.table} WHERE ${match(gone)} AND entries = 0`,
          gone.values,
        );
        if (rollup.times) {
          const params = new SqlParams(dialect);
          const first = match(params, 'e.');
          const last = match(params, 'e.');
          await m.query(
            `UPDATE ${rollup.table} SET ` +
              `first_ts = (SELECT MIN(ts) FROM usage_entries e WHERE ${first}), ` +
              `last_ts = (SELECT MAX(ts) FROM usage_entries e WHERE ${last}) WHERE ${match(params)}`,
            params.values,
          );
        }
      }
    }
    // Each member's latest request per machine (only what was added: a replaced OTLP row's
    // pushed line has it).
    const latest = new Map<string, [string, string, number]>();
    for (const row of added) {
      const id = `${row.member}\u0000${row.machine}`;
      const seen = latest.get(id);
      if (!seen || seen[2] < row.ts) latest.set(id, [row.member, row.machine, row.ts]);
    }
    const machines = [...latest.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, row]) => row);
    for (const chunk of chunks(machines, CHUNK)) {
      const params = new SqlParams(dialect);
      const rows = chunk.map((entry) => params.row(entry));
      await m.query(
        `INSERT INTO usage_machine_activity (member, machine, last_ts) VALUES ${rows.join(', ')} ` +
          `ON CONFLICT (member, machine) DO UPDATE SET last_ts = ${params.greatest('usage_machine_activity.last_ts', 'excluded.last_ts')}`,
        params.values,
      );
    }
  }
}
