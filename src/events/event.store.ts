import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  Between,
  type FindOptionsWhere,
  In,
  IsNull,
  LessThanOrEqual,
  MoreThan,
  type Repository,
} from 'typeorm';
import { HookEvent } from './hook-event.entity';
import type { NormalizedHookEvent } from './hook-event.normalizer';
import { DatabaseAvailability } from '../database/database-availability';
import { DatabaseWrites } from '../database/database-writes';
import { DatabaseUnavailableError, isUniqueViolation } from '../database/database-errors';

/** An event to store: normalized, and the team member that sent it (if any). */
export type EventToStore = NormalizedHookEvent & { readonly member?: string | null };

export interface EventFilter {
  /** Only this team member's hook events (a member token reads its own only). */
  readonly member?: string;
  readonly sourceApp?: string;
  readonly sessionId?: string;
  readonly hookEventType?: string;
  /** Only events with a larger id (the replay cursor). */
  readonly afterId?: number;
  /** Only events up to this id. */
  readonly upToId?: number;
  /** Domain events too (replay); the history API lists hook events only. */
  readonly includeDomain?: boolean;
  readonly limit: number;
}

/** A stored event, and whether this call stored it (false: an earlier call with its key did). */
export interface Appended {
  readonly row: HookEvent;
  readonly created: boolean;
}

interface Waiting {
  readonly event: EventToStore;
  readonly receivedAt: number;
  readonly idempotencyKey: string | null;
  readonly resolve: (stored: Appended) => void;
  readonly reject: (error: unknown) => void;
}

/** Another instance stored the same key between our look-up and our insert: look again. */
const MAX_KEY_RACE_RETRIES = 3;

/** Distinct values for the dashboard's filter menus are capped (newest first). */
const FILTER_OPTIONS_LIMIT = 500;

/**
 * Hook events in the database. Writes go through one queue and commit in batches (one
 * transaction each), so ids are assigned in commit order: a reader that has seen id N has seen
 * every event this instance stored before it, which the replay cursor relies on.
 */
@Injectable()
export class EventStore {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(
    @InjectRepository(HookEvent) private readonly events: Repository<HookEvent>,
    private readonly writes: DatabaseWrites,
    private readonly database: DatabaseAvailability,
  ) {}

  /**
   * Stores one event; resolves once it is committed. With an idempotency key already stored, it
   * resolves with that first row instead (`created: false`) and stores nothing.
   */
  append(
    event: EventToStore,
    receivedAt: number,
    idempotencyKey: string | null = null,
  ): Promise<Appended> {
    // While the database is known to be away, refuse at once (503) rather than queue behind it.
    try {
      this.database.assertAvailable();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ event, receivedAt, idempotencyKey, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length) {
        const batch = this.waiting;
        this.waiting = [];
        if (!this.database.available) {
          for (const w of batch) w.reject(new DatabaseUnavailableError('waiting for it to answer'));
          continue;
        }
        for (let attempt = 0; ; attempt++) {
          try {
            const stored = await this.commit(batch);
            batch.forEach((w, i) => w.resolve(stored[i]));
            break;
          } catch (error) {
            if (isUniqueViolation(error) && attempt < MAX_KEY_RACE_RETRIES) continue;
            // Nothing of the batch was committed; each caller gets the error (a 503 when the
            // database is away: the batches queued behind this one are refused at once).
            this.database.observe(error);
            for (const w of batch) w.reject(error);
            break;
          }
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** One transaction: keys already stored (or repeated in the batch) resolve to the first row. */
  private commit(batch: readonly Waiting[]): Promise<Appended[]> {
    return this.writes.transaction(async (manager) => {
      const keys = [...new Set(batch.map((w) => w.idempotencyKey).filter((k) => k !== null))];
      const known = new Map<string, HookEvent>();
      if (keys.length)
        for (const row of await manager.find(HookEvent, { where: { idempotencyKey: In(keys) } }))
          known.set(row.idempotencyKey as string, row);
      const results: Appended[] = [];
      for (const { event, receivedAt, idempotencyKey } of batch) {
        const first = idempotencyKey === null ? undefined : known.get(idempotencyKey);
        if (first) {
          results.push({ row: first, created: false });
          continue;
        }
        const row = await manager.save(
          HookEvent,
          manager.create(HookEvent, { ...event, receivedAt, idempotencyKey }),
        );
        if (idempotencyKey !== null) known.set(idempotencyKey, row);
        results.push({ row, created: true });
      }
      return results;
    });
  }

  /** Oldest first. */
  list(filter: EventFilter): Promise<HookEvent[]> {
    const where: FindOptionsWhere<HookEvent> = filter.includeDomain ? {} : { room: IsNull() };
    if (filter.member) where.member = filter.member;
    if (filter.sourceApp) where.sourceApp = filter.sourceApp;
    if (filter.sessionId) where.sessionId = filter.sessionId;
    if (filter.hookEventType) where.hookEventType = filter.hookEventType;
    if (filter.afterId !== undefined && filter.upToId !== undefined)
      where.id = Between(filter.afterId + 1, filter.upToId);
    else if (filter.afterId !== undefined) where.id = MoreThan(filter.afterId);
    else if (filter.upToId !== undefined) where.id = LessThanOrEqual(filter.upToId);
    return this.events.find({ where, order: { id: 'ASC' }, take: filter.limit });
  }

  /** The newest id of any kind (hook and domain events share the sequence). */
  async lastId(): Promise<number> {
    const [last] = await this.events.find({
      select: { id: true },
      order: { id: 'DESC' },
      take: 1,
    });
    return last?.id ?? 0;
  }

  /** The newest `limit` hook events (up to `upToId`, of `member` if given), oldest first. */
  async latest(limit: number, upToId?: number, member?: string): Promise<HookEvent[]> {
    const where: FindOptionsWhere<HookEvent> = { room: IsNull() };
    if (upToId !== undefined) where.id = LessThanOrEqual(upToId);
    if (member !== undefined) where.member = member;
    const rows = await this.events.find({
      where,
      order: { id: 'DESC' },
      take: limit,
    });
    return rows.reverse();
  }

  async filterOptions(): Promise<{
    source_apps: string[];
    session_ids: string[];
    hook_event_types: string[];
  }> {
    const distinct = async (column: string) =>
      (
        (await this.events
          .createQueryBuilder('e')
          .select(`e.${column}`, 'value')
          .where('e.room IS NULL')
          .addSelect('MAX(e.id)', 'last')
          .groupBy(`e.${column}`)
          .orderBy('last', 'DESC')
          .limit(FILTER_OPTIONS_LIMIT)
          .getRawMany()) as Array<{ value: string }>
      ).map((r) => r.value);
    const [apps, sessions, types] = await Promise.all([
      distinct('sourceApp'),
      distinct('sessionId'),
      distinct('hookEventType'),
    ]);
    return {
      source_apps: apps.sort(),
      session_ids: sessions,
      hook_event_types: types.sort(),
    };
  }
}
