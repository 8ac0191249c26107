import { CLOCK, type Clock } from '../common/clock';
import { LRUCache } from 'lru-cache';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type FindOptionsWhere, LessThan, MoreThanOrEqual, type Repository } from 'typeorm';
import { PeriodicJobs } from '../cluster/periodic-jobs';
import { AppConfig } from '../config/app-config';
import { type SnapshotKind, UsageSnapshot } from './usage-snapshot.entity';
import { DatabaseWrites } from '../database/database-writes';

const PRUNE_EVERY_MS = 60 * 60 * 1000;
/**
 * How long a looked-up latest snapshot is reused. While the bridge is down every request asks
 * for it; another instance sharing the database may store a newer one, seen after at most this.
 */
const LATEST_MEMO_MS = 1000;
const LATEST_MEMO_KEYS = 500;
/** Parameter sets whose last stored hash is remembered (callers pick the parameters). */
const HASH_KEYS = 10_000;
const DAY_MS = 24 * 60 * 60 * 1000;

interface Pending {
  kind: SnapshotKind;
  paramsKey: string;
  payload: unknown;
  payloadHash: string;
  createdAt: number;
}

/**
 * Bridge payloads as they were served, so the API can answer while the bridge is down. Writes are
 * queued and flushed in batches after the response has gone out; a payload equal to the last one
 * stored for the same parameters is not stored again.
 */
@Injectable()
export class SnapshotStore implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SnapshotStore.name);
  private queue: Pending[] = [];
  /** Hash of the newest payload stored or queued, per kind and parameters. */
  private readonly lastHash = new LRUCache<string, string>({ max: HASH_KEYS });
  /** Kind|params whose newest stored row has been compared once since boot. */
  private readonly seeded = new LRUCache<string, true>({ max: HASH_KEYS });
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private readonly latestMemo = new LRUCache<
    string,
    { row: { payload: unknown; createdAt: number } | null; at: number }
  >({ max: LATEST_MEMO_KEYS });

  constructor(
    @InjectRepository(UsageSnapshot) private readonly snapshots: Repository<UsageSnapshot>,
    private readonly config: AppConfig,
    private readonly jobs: PeriodicJobs,
    private readonly writes: DatabaseWrites,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  onApplicationBootstrap(): void {
    // Once per period across all instances.
    this.jobs.every('snapshot-prune', PRUNE_EVERY_MS, () => this.prune(), {
      cluster: true,
      runAtStart: true,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.flush();
  }

  /** Queues a payload unless it equals the last one for these parameters. */
  record(
    kind: SnapshotKind,
    paramsKey: string,
    payload: unknown,
    payloadHash: string,
    now = this.now(),
  ): void {
    const key = `${kind}|${paramsKey}`;
    if (this.lastHash.get(key) === payloadHash) return;
    this.lastHash.set(key, payloadHash);
    const item = { kind, paramsKey, payload, payloadHash, createdAt: now };
    this.queue.push(item);
    this.memoize(key, item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  /** Writes what is queued (one INSERT per batch). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.write(batch).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      // After a restart the in-memory hashes are empty: skip what equals the newest stored row.
      const fresh: Pending[] = [];
      for (const item of batch) {
        const key = `${item.kind}|${item.paramsKey}`;
        if (!this.seeded.has(key)) {
          this.seeded.set(key, true);
          const latest = await this.newest(item.kind, item.paramsKey);
          if (latest?.payloadHash === item.payloadHash) continue;
        }
        fresh.push(item);
      }
      if (fresh.length)
        await this.writes.write((manager) =>
          manager.insert(
            UsageSnapshot,
            fresh.map((item) => ({ ...item, payload: item.payload as object })),
          ),
        );
    } catch (error) {
      this.logger.warn(
        `could not store ${batch.length} usage snapshot(s): ${(error as Error).message}`,
      );
    }
  }

  private newest(kind: SnapshotKind, paramsKey: string): Promise<UsageSnapshot | null> {
    return this.snapshots.findOne({
      where: { kind, paramsKey },
      order: { createdAt: 'DESC' },
    });
  }

  /**
   * The newest payload for exactly these parameters: what this instance recorded last, else one
   * indexed query (its answer reused for LATEST_MEMO_MS).
   */
  async latest(
    kind: SnapshotKind,
    paramsKey: string,
  ): Promise<{ payload: unknown; createdAt: number } | null> {
    const key = `${kind}|${paramsKey}`;
    const memo = this.latestMemo.get(key);
    if (memo && this.now() - memo.at < LATEST_MEMO_MS) return memo.row;
    const row = await this.newest(kind, paramsKey);
    const found = row && { payload: row.payload, createdAt: row.createdAt };
    // A payload recorded while the query ran is newer than what it found.
    const recorded = this.latestMemo.get(key);
    if (recorded && recorded !== memo) return recorded.row;
    this.memoize(key, found);
    return found;
  }

  private memoize(key: string, row: { payload: unknown; createdAt: number } | null): void {
    this.latestMemo.set(key, { row, at: this.now() });
  }

  /** Newest first. */
  async list(filter: {
    kind?: SnapshotKind;
    since?: number;
    limit: number;
  }): Promise<UsageSnapshot[]> {
    await this.flush();
    const where: FindOptionsWhere<UsageSnapshot> = {};
    if (filter.kind) where.kind = filter.kind;
    if (filter.since !== undefined) where.createdAt = MoreThanOrEqual(filter.since);
    return this.snapshots.find({
      where,
      order: { createdAt: 'DESC', id: 'DESC' },
      take: filter.limit,
    });
  }

  /** Deletes snapshots older than SNAPSHOT_RETENTION_DAYS; returns how many. */
  async prune(now = this.now()): Promise<number> {
    const cutoff = now - this.config.usage.snapshotRetentionDays * DAY_MS;
    try {
      const result = await this.writes.write((manager) =>
        manager.delete(UsageSnapshot, { createdAt: LessThan(cutoff) }),
      );
      return result.affected ?? 0;
    } catch (error) {
      this.logger.warn(`snapshot pruning failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
