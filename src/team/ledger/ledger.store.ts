import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { DatabaseWrites } from '../../database/database-writes';
import { isUniqueViolation } from '../../database/database-errors';
import { chunks, lockInOrder, placeholders } from './sql';
import { teamShard } from './usage-rollup.entity';
import type { UsageCounts } from './usage-counts';
import { type EntrySource, UsageEntry } from './usage-entry.entity';

/** One request as a way in hands it over (the ledger row without its key hash and times). */
export interface LedgerInput {
  /** What identifies the request (hashed into `entry_key`): see UsageEntry. */
  readonly key: string;
  readonly requestId: string | null;
  readonly source: EntrySource;
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
  readonly costUsd: number;
  readonly reportedCostUsd: number | null;
  readonly attributes: Record<string, string> | null;
}

export interface LedgerResult {
  /** Stored now. */
  readonly accepted: number;
  /** Already in the ledger (or twice in this batch, or an OTLP copy of a pushed request). */
  readonly duplicates: number;
  /** OTLP rows replaced by the pushed line of the same request. */
  readonly superseded: number;
}

export const QUARTER_MS = 15 * 60 * 1000;
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

/** What one transaction did: the keys it stored, and OTLP rows replaced per request id. */
interface Outcome {
  readonly inserted: ReadonlySet<string>;
  readonly superseded: ReadonlyMap<string, number>;
}

/** A concurrent instance stored the same key between our look-up and our insert: again. */
const MAX_RACE_RETRIES = 3;
/** pg_advisory_xact_lock's first key: the ledger's request-id locks. */
const REQUEST_LOCK_SPACE = 0x4c656467;

export const entryKeyHash = (key: string): string => createHash('sha256').update(key).digest('hex');

type Sums = [number, number, number, number, number, number];
const SUMS = [
  'input_tokens',
  'output_tokens',
  'cache_creation_tokens',
  'cache_read_tokens',
  'cost_usd',
  'entries',
];

/**
 * The roll-ups kept in the ledger's transaction: per quarter hour × member × machine × model ×
 * project (reports filtered or grouped by machine or project), per quarter hour × model (the
 * whole team's report), per quarter hour × member × model (the summary, budgets, reports by
 * member), per ccusage session × member × machine × model (the sessions report, with its last
 * activity).
 */
const ROLLUPS: readonly {
  table: string;
  keys: string[];
  key: (row: RowLike) => unknown[];
  extraColumns?: string[];
  extra?: (row: RowLike) => unknown[];
  lastTs?: boolean;
}[] = [
  {
    table: 'usage_rollups',
    keys: ['quarter', 'member', 'machine', 'model', 'project'],
    key: (row) => [
      Math.floor(row.ts / QUARTER_MS),
      row.member,
      row.machine,
      row.model,
      row.project,
    ],
  },
  {
    table: 'usage_team_rollups',
    keys: ['quarter', 'model', 'shard'],
    key: (row) => [Math.floor(row.ts / QUARTER_MS), row.model, teamShard(row.member)],
  },
  {
    table: 'usage_member_rollups',
    keys: ['quarter', 'member', 'model'],
    key: (row) => [Math.floor(row.ts / QUARTER_MS), row.member, row.model],
  },
  {
    table: 'usage_session_rollups',
    keys: ['member', 'machine', 'project_path', 'session_id', 'model'],
    key: (row) => [row.member, row.machine, row.projectPath, row.sessionId, row.model],
    extraColumns: ['project'],
    extra: (row) => [row.project],
    lastTs: true,
  },
];
const INSERT_COLUMNS =
  'entry_key, request_id, source, member, machine, project, session_id, project_path, ' +
  'claude_session, model, ts, input_tokens, output_tokens, cache_creation_tokens, ' +
  'cache_read_tokens, cost_usd, reported_cost_usd, attributes, received_at';
const STORED_COLUMNS =
  'id, entry_key, request_id, source, member, machine, project, session_id, project_path, ' +
  'model, ts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd';

/** A stored row as the driver returns it (PostgreSQL's BIGINTs as strings). */
interface RawRow {
  id: number | string;
  entry_key: string;
  request_id: string | null;
  source: string;
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
  cost_usd: number | string;
}
type StoredRow = RowLike & { id: number; requestId: string | null; source: string };

const storedRow = (row: RawRow): StoredRow => ({
  id: Number(row.id),
  requestId: row.request_id,
  source: row.source,
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
  costUsd: Number(row.cost_usd),
});

/** `= ANY($n)` (one array parameter on PostgreSQL) or `IN (?, …)` (SQLite). */
function inList(params: unknown[], values: readonly unknown[], postgres: boolean): string {
  if (postgres) {
    params.push(values);
    return `= ANY($${params.length})`;
  }
  for (const value of values) params.push(value);
  return `IN (${values.map(() => '?').join(', ')})`;
}

type RowLike = Pick<
  UsageEntry,
  'member' | 'machine' | 'model' | 'project' | 'projectPath' | 'sessionId' | 'ts'
> &
  UsageCounts;

/**
 * Writes the ledger: each request once (DESIGN.md §9), its roll-ups in the same transaction. On
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
          if (!isUniqueViolation(error) || attempt >= MAX_RACE_RETRIES) throw error;
        }
      }
      // Each stored key and each replacement counts for the first caller that brought it.
      const claimed = new Set<string>();
      const credited = new Set<string>();
      let at = 0;
      for (const waiting of batch) {
        let accepted = 0;
        let superseded = 0;
        for (const input of waiting.inputs) {
          const hash = keys[at++];
          if (!outcome.inserted.has(hash) || claimed.has(hash)) continue;
          claimed.add(hash);
          accepted++;
          const replaced =
            input.requestId === null ? 0 : (outcome.superseded.get(input.requestId) ?? 0);
          if (replaced && !credited.has(input.requestId!)) {
            credited.add(input.requestId!);
            superseded += replaced;
          }
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
    const postgres = m.connection.options.type === 'postgres';
    // One per key (the first), in key order: concurrent batches lock and write in one order.
    const byKey = new Map<string, LedgerInput>();
    inputs.forEach((input, i) => {
      if (!byKey.has(keys[i])) byKey.set(keys[i], input);
    });
    const hashes = [...byKey.keys()].sort();
    const requestIds = [
      ...new Set(inputs.map((i) => i.requestId).filter((r): r is string => r !== null)),
    ].sort();
    const requestSet = new Set(requestIds);
    await lockInOrder(m, REQUEST_LOCK_SPACE, requestIds);
    // What is stored already, in one read: these keys, and rows of these request ids (a pushed
    // line replaces an OTLP row; an OTLP row is not stored beside a pushed or local line).
    const known = new Set<string>();
    const sameRequest = new Map<number, StoredRow>();
    const keyChunks = chunks(hashes, 500);
    const requestChunks = chunks(requestIds, 500);
    for (let i = 0; i < Math.max(keyChunks.length, requestChunks.length); i++) {
      const params: unknown[] = [];
      const where = [
        ...(keyChunks[i] ? [`entry_key ${inList(params, keyChunks[i], postgres)}`] : []),
        ...(requestChunks[i] ? [`request_id ${inList(params, requestChunks[i], postgres)}`] : []),
      ];
      const found = (await m.query(
        `SELECT ${STORED_COLUMNS} FROM usage_entries WHERE ${where.join(' OR ')}`,
        params,
      )) as RawRow[];
      for (const row of found) {
        if (byKey.has(row.entry_key)) known.add(row.entry_key);
        if (row.request_id !== null && requestSet.has(row.request_id))
          sameRequest.set(Number(row.id), storedRow(row));
      }
    }
    const logged = new Set(
      [...sameRequest.values()].filter((row) => row.source !== 'otlp').map((row) => row.requestId),
    );
    for (const hash of hashes) {
      const input = byKey.get(hash)!;
      if (!known.has(hash) && input.source !== 'otlp' && input.requestId !== null)
        logged.add(input.requestId);
    }

    const fresh: (LedgerInput & { entryKey: string })[] = [];
    for (const hash of hashes) {
      const input = byKey.get(hash)!;
      if (known.has(hash)) continue;
      if (input.source === 'otlp' && input.requestId !== null && logged.has(input.requestId))
        continue;
      fresh.push({ ...input, entryKey: hash });
    }
    const superseded = [...sameRequest.values()].filter(
      (row) => row.source === 'otlp' && row.requestId !== null && logged.has(row.requestId),
    );
    for (const chunk of chunks(fresh, CHUNK)) {
      const params: unknown[] = [];
      const rows = chunk.map((e) =>
        placeholders(
          params,
          [
            e.entryKey,
            e.requestId,
            e.source,
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
            e.costUsd,
            e.reportedCostUsd,
            e.attributes === null ? null : JSON.stringify(e.attributes),
            receivedAt,
          ],
          postgres,
        ),
      );
      await m.query(
        `INSERT INTO usage_entries (${INSERT_COLUMNS}) VALUES ${rows.join(', ')}`,
        params,
      );
    }
    for (const chunk of chunks(superseded, 500)) {
      const params: unknown[] = [];
      await m.query(
        `DELETE FROM usage_entries WHERE id ${inList(
          params,
          chunk.map((row) => row.id),
          postgres,
        )}`,
        params,
      );
    }
    await this.roll(m, fresh, superseded, postgres);
    const replaced = new Map<string, number>();
    for (const row of superseded)
      replaced.set(row.requestId!, (replaced.get(row.requestId!) ?? 0) + 1);
    return { inserted: new Set(fresh.map((e) => e.entryKey)), superseded: replaced };
  }

  /** Adds the new rows to the roll-ups and takes the replaced ones out, in key order. */
  private async roll(
    m: EntityManager,
    added: readonly RowLike[],
    removed: readonly RowLike[],
    postgres: boolean,
  ): Promise<void> {
    for (const rollup of ROLLUPS) {
      const groups = new Map<
        string,
        { key: unknown[]; extra: unknown[]; sums: Sums; last: number }
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
        ];
        const last = sign > 0 ? row.ts : 0;
        const group = groups.get(id);
        if (!group) groups.set(id, { key, extra: rollup.extra?.(row) ?? [], sums: values, last });
        else {
          for (let i = 0; i < values.length; i++) group.sums[i] += values[i];
          group.last = Math.max(group.last, last);
        }
      };
      for (const row of added) add(row, 1);
      for (const row of removed) add(row, -1);
      const ordered = [...groups.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, group]) => group);
      const columns = [...rollup.keys, ...(rollup.extraColumns ?? []), ...SUMS];
      const greatest = postgres ? 'GREATEST' : 'MAX';
      const updates = SUMS.map((c) => `${c} = ${rollup.table}.${c} + excluded.${c}`);
      if (rollup.lastTs)
        updates.push(`last_ts = ${greatest}(${rollup.table}.last_ts, excluded.last_ts)`);
      for (const chunk of chunks(ordered, CHUNK)) {
        const params: unknown[] = [];
        const rows = chunk.map((g) =>
          placeholders(
            params,
            [...g.key, ...g.extra, ...g.sums, ...(rollup.lastTs ? [g.last] : [])],
            postgres,
          ),
        );
        await m.query(
          `INSERT INTO ${rollup.table} (${[...columns, ...(rollup.lastTs ? ['last_ts'] : [])].join(', ')}) ` +
            `VALUES ${rows.join(', ')} ON CONFLICT (${rollup.keys.join(', ')}) DO UPDATE SET ${updates.join(', ')}`,
          params,
        );
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
      const params: unknown[] = [];
      const rows = chunk.map((entry) => placeholders(params, entry, postgres));
      await m.query(
        `INSERT INTO usage_machine_activity (member, machine, last_ts) VALUES ${rows.join(', ')} ` +
          `ON CONFLICT (member, machine) DO UPDATE SET last_ts = ${postgres ? 'GREATEST' : 'MAX'}(usage_machine_activity.last_ts, excluded.last_ts)`,
        params,
      );
    }
  }
}
