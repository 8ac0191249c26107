import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { In, type EntityManager } from 'typeorm';
import { DatabaseWrites } from '../../database/database-writes';
import { chunks, isUniqueViolation, lockInOrder, placeholders } from './sql';
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
/** A concurrent instance stored the same key between our look-up and our insert: again. */
const MAX_RACE_RETRIES = 3;
/** pg_advisory_xact_lock's first key: the ledger's request-id locks. */
const REQUEST_LOCK_SPACE = 0x4c656467;

export const entryKeyHash = (key: string): string => createHash('sha256').update(key).digest('hex');

type Sums = [number, number, number, number, number, number];
type RowLike = Pick<
  UsageEntry,
  | 'member'
  | 'machine'
  | 'model'
  | 'project'
  | 'projectPath'
  | 'sessionId'
  | 'ts'
  | 'inputTokens'
  | 'outputTokens'
  | 'cacheCreationTokens'
  | 'cacheReadTokens'
  | 'costUsd'
>;

/**
 * Writes the ledger: each request once (DESIGN.md §9), its roll-ups in the same transaction. On
 * PostgreSQL several instances write at once: the request ids of a batch are locked (advisory,
 * in order) so an OTLP row and the pushed line of the same request never both land, and a key
 * another instance stored in between makes the batch run again.
 */
@Injectable()
export class LedgerStore {
  constructor(private readonly writes: DatabaseWrites) {}

  async ingest(inputs: readonly LedgerInput[], receivedAt: number): Promise<LedgerResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.writes.transaction((m) => this.ingestIn(m, inputs, receivedAt));
      } catch (error) {
        if (!isUniqueViolation(error) || attempt >= MAX_RACE_RETRIES) throw error;
      }
    }
  }

  private async ingestIn(
    m: EntityManager,
    inputs: readonly LedgerInput[],
    receivedAt: number,
  ): Promise<LedgerResult> {
    const postgres = m.connection.options.type === 'postgres';
    // One per key (the first), in key order: concurrent batches lock and write in one order.
    const byKey = new Map<string, LedgerInput>();
    for (const input of inputs) {
      const hash = entryKeyHash(input.key);
      if (!byKey.has(hash)) byKey.set(hash, input);
    }
    const hashes = [...byKey.keys()].sort();
    const requestIds = [
      ...new Set(inputs.map((i) => i.requestId).filter((r): r is string => r !== null)),
    ].sort();
    await lockInOrder(m, REQUEST_LOCK_SPACE, requestIds);
    const known = new Set<string>();
    for (const chunk of chunks(hashes, 500))
      for (const row of await m.find(UsageEntry, {
        select: { entryKey: true },
        where: { entryKey: In(chunk) },
      }))
        known.add(row.entryKey);
    // Rows of the same request ids already stored: a pushed line replaces an OTLP row; an OTLP
    // row is not stored beside a pushed (or local) line.
    const sameRequest: UsageEntry[] = [];
    for (const chunk of chunks(requestIds, 500))
      sameRequest.push(...(await m.find(UsageEntry, { where: { requestId: In(chunk) } })));
    const logged = new Set(
      sameRequest.filter((row) => row.source !== 'otlp').map((row) => row.requestId),
    );
    for (const hash of hashes) {
      const input = byKey.get(hash)!;
      if (!known.has(hash) && input.source !== 'otlp' && input.requestId !== null)
        logged.add(input.requestId);
    }

    const fresh: UsageEntry[] = [];
    for (const hash of hashes) {
      const input = byKey.get(hash)!;
      if (known.has(hash)) continue;
      if (input.source === 'otlp' && input.requestId !== null && logged.has(input.requestId))
        continue;
      const { key: _key, ...fields } = input;
      fresh.push(m.create(UsageEntry, { ...fields, entryKey: hash, receivedAt }));
    }
    const superseded = sameRequest.filter(
      (row) => row.source === 'otlp' && row.requestId !== null && logged.has(row.requestId),
    );
    for (const chunk of chunks(fresh, CHUNK)) await m.insert(UsageEntry, chunk);
    if (superseded.length)
      for (const chunk of chunks(superseded, 500))
        await m.delete(UsageEntry, { id: In(chunk.map((row) => row.id)) });
    await this.roll(m, fresh, superseded, postgres);
    return {
      accepted: fresh.length,
      duplicates: inputs.length - fresh.length,
      superseded: superseded.length,
    };
  }

  /** Adds the new rows to the roll-ups and takes the replaced ones out, in key order. */
  private async roll(
    m: EntityManager,
    added: readonly RowLike[],
    removed: readonly RowLike[],
    postgres: boolean,
  ): Promise<void> {
    const quarters = new Map<string, { key: unknown[]; sums: Sums }>();
    const sessions = new Map<
      string,
      { key: unknown[]; project: string; sums: Sums; last: number }
    >();
    const add = (row: RowLike, sign: 1 | -1) => {
      const values: Sums = [
        sign * row.inputTokens,
        sign * row.outputTokens,
        sign * row.cacheCreationTokens,
        sign * row.cacheReadTokens,
        sign * row.costUsd,
        sign,
      ];
      const qKey = [
        Math.floor(row.ts / QUARTER_MS),
        row.member,
        row.machine,
        row.model,
        row.project,
      ];
      const q = JSON.stringify(qKey);
      const quarter = quarters.get(q);
      if (quarter) quarter.sums.forEach((_, i) => (quarter.sums[i] += values[i]));
      else quarters.set(q, { key: qKey, sums: [...values] });
      const sKey = [row.member, row.machine, row.projectPath, row.sessionId, row.model];
      const s = JSON.stringify(sKey);
      const session = sessions.get(s);
      const last = sign > 0 ? row.ts : 0;
      if (session) {
        session.sums.forEach((_, i) => (session.sums[i] += values[i]));
        session.last = Math.max(session.last, last);
      } else sessions.set(s, { key: sKey, project: row.project, sums: [...values], last });
    };
    for (const row of added) add(row, 1);
    for (const row of removed) add(row, -1);
    const sums = [
      'input_tokens',
      'output_tokens',
      'cache_creation_tokens',
      'cache_read_tokens',
      'cost_usd',
      'entries',
    ];
    const addUp = (table: string) =>
      sums.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ');
    const ordered = <T>(map: Map<string, T>) =>
      [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

    for (const chunk of chunks(ordered(quarters), CHUNK)) {
      const params: unknown[] = [];
      const rows = chunk.map(({ key, sums: values }) =>
        placeholders(params, [...key, ...values], postgres),
      );
      await m.query(
        `INSERT INTO usage_rollups (quarter, member, machine, model, project, ${sums.join(', ')}) VALUES ${rows.join(', ')} ` +
          `ON CONFLICT (quarter, member, machine, model, project) DO UPDATE SET ${addUp('usage_rollups')}`,
        params,
      );
    }
    const greatest = postgres ? 'GREATEST' : 'MAX';
    for (const chunk of chunks(ordered(sessions), CHUNK)) {
      const params: unknown[] = [];
      const rows = chunk.map(({ key, project, sums: values, last }) =>
        placeholders(params, [...key, project, ...values, last], postgres),
      );
      await m.query(
        `INSERT INTO usage_session_rollups (member, machine, project_path, session_id, model, project, ${sums.join(', ')}, last_ts) VALUES ${rows.join(', ')} ` +
          `ON CONFLICT (member, machine, project_path, session_id, model) DO UPDATE SET ${addUp('usage_session_rollups')}, ` +
          `last_ts = ${greatest}(usage_session_rollups.last_ts, excluded.last_ts)`,
        params,
      );
    }
  }
}
