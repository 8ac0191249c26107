import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { In, LessThan, type Repository } from 'typeorm';
import { PeriodicJobs } from '../cluster/periodic-jobs';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { HookEvent } from './hook-event.entity';
import { DatabaseWrites } from '../database/database-writes';

const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
/** A delete holds SQLite's write lock (and PostgreSQL row locks): keep each one short. */
const TARGET_BATCH_MS = 50;
const MIN_BATCH = 50;
const MAX_BATCH = 5000;

export interface PruneReport {
  readonly deleted: number;
  readonly batches: number;
  /** The longest single delete, ms (the longest the write lock was held). */
  readonly longestBatchMs: number;
}

/**
 * EVENT_RETENTION_DAYS: hook and domain events older than that (by when they were stored) are
 * deleted once per hour across the cluster, in batches sized so that no delete holds the write
 * lock for long — ingestion goes on meanwhile. 0 keeps everything.
 */
@Injectable()
export class EventRetention implements OnApplicationBootstrap {
  private readonly logger = new Logger(EventRetention.name);
  private running: Promise<PruneReport> | undefined;

  constructor(
    @InjectRepository(HookEvent) private readonly events: Repository<HookEvent>,
    private readonly config: AppConfig,
    private readonly jobs: PeriodicJobs,
    private readonly writes: DatabaseWrites,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.events.retentionDays === 0) return;
    // Once an hour across the cluster, and at start (what a stopped instance left undone).
    this.jobs.every('event-prune', PRUNE_EVERY_MS, () => this.prune(), {
      cluster: true,
      runAtStart: true,
    });
  }

  /** Prunes now; a prune already under way on this instance is joined, never run twice. */
  prune(): Promise<PruneReport> {
    this.running ??= this.pruneOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pruneOnce(): Promise<PruneReport> {
    const days = this.config.events.retentionDays;
    if (days === 0) return { deleted: 0, batches: 0, longestBatchMs: 0 };
    const cutoff = this.now() - days * DAY_MS;
    const repo = this.events;
    let size = 500;
    let deleted = 0;
    let batches = 0;
    let longestBatchMs = 0;
    for (;;) {
      const old = await repo.find({
        select: { id: true },
        where: { receivedAt: LessThan(cutoff) },
        order: { id: 'ASC' },
        take: size,
      });
      if (old.length === 0) break;
      const started = performance.now();
      await this.writes.write((manager) =>
        manager.delete(HookEvent, { id: In(old.map((row) => row.id)) }),
      );
      const ms = performance.now() - started;
      longestBatchMs = Math.max(longestBatchMs, ms);
      deleted += old.length;
      batches++;
      if (ms > TARGET_BATCH_MS) size = Math.max(MIN_BATCH, Math.floor(size / 2));
      else if (ms < TARGET_BATCH_MS / 2) size = Math.min(MAX_BATCH, size * 2);
      await yieldToOthers(); // let queued writes in between batches
    }
    if (deleted)
      this.logger.log(
        `pruned ${deleted} event(s) older than ${days} day(s) in ${batches} batch(es), longest ${longestBatchMs.toFixed(1)} ms`,
      );
    return { deleted, batches, longestBatchMs };
  }
}
