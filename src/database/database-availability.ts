import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Gauge, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { withDeadline } from '../common/deadline';
import {
  DatabaseUnavailableError,
  describeDatabaseError,
  isDatabaseUnavailable,
} from './database-errors';

/** How often an unavailable database is probed (`SELECT 1`, within the query deadline). */
export const DATABASE_PROBE_INTERVAL_MS = 1000;
/** A probe that has not answered by then counts as failed (the next one starts a second later). */
const PROBE_DEADLINE_MS = 1000;
/** What a refused request is told to wait before retrying (`Retry-After`, seconds). */
export const DATABASE_RETRY_AFTER_S = 5;

/**
 * Whether the database answers. The first error that says it does not (a timeout, a lost
 * connection) turns it "unavailable": one log line, a gauge, and a probe every second until a
 * query succeeds again (one more line). Meanwhile ingestion refuses at once with 503 instead of
 * queueing behind a dead connection, and nothing logs a stack per request.
 */
@Injectable()
export class DatabaseAvailability implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private downSince: number | null = null;
  private reason = '';
  private refused = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly gauge: Gauge;
  private readonly errors: Counter;
  private readonly refusedTotal: Counter;
  /** Errors looked at already (a batch's one failure reaches the filter once per request). */
  private readonly observed = new WeakSet<object>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    registry: Registry,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.gauge = new Gauge({
      name: 'database_available',
      help: '1 while the database answers, 0 from the first timeout or lost connection until a probe succeeds',
      registers: [registry],
    });
    this.gauge.set(1);
    this.errors = new Counter({
      name: 'database_unavailable_errors_total',
      help: 'Queries that failed because the database could not be reached or did not answer in time',
      registers: [registry],
    });
    this.refusedTotal = new Counter({
      name: 'database_refused_requests_total',
      help: 'Requests answered 503 because the database was unavailable',
      registers: [registry],
    });
  }

  get available(): boolean {
    return this.downSince === null;
  }

  /** Throws (503) without touching the database while it is known to be unavailable. */
  assertAvailable(): void {
    if (this.downSince !== null) throw new DatabaseUnavailableError(this.reason);
  }

  /** Looks at a failed query: true when it says the database is unavailable (and records it). */
  observe(error: unknown): boolean {
    if (!isDatabaseUnavailable(error)) return false;
    if (typeof error === 'object' && error !== null) {
      if (this.observed.has(error)) return true;
      this.observed.add(error);
    }
    if (!(error instanceof DatabaseUnavailableError)) this.errors.inc();
    if (this.downSince === null && !this.closed) {
      this.downSince = this.now();
      this.reason = describeDatabaseError(error);
      this.refused = 0;
      this.gauge.set(0);
      this.logger.warn(
        `database unavailable (${this.reason}); writes are answered 503 with Retry-After until it answers again`,
      );
      this.scheduleProbe();
    }
    return true;
  }

  /** A request was answered 503 because of the database. */
  refusedOne(): void {
    this.refused++;
    this.refusedTotal.inc();
  }

  private scheduleProbe(): void {
    this.probeTimer = setTimeout(() => void this.probe(), DATABASE_PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (this.closed || this.downSince === null) return;
    try {
      // A pooled connection whose bytes were lost answers only at its read deadline: do not
      // wait for it, try again (on another connection) a second later.
      await withDeadline(this.dataSource.query('SELECT 1'), PROBE_DEADLINE_MS, 'the probe');
    } catch {
      this.scheduleProbe();
      return;
    }
    const seconds = ((this.now() - this.downSince) / 1000).toFixed(1);
    this.logger.log(
      `database available again after ${seconds} s (${this.refused} requests answered 503 meanwhile)`,
    );
    this.downSince = null;
    this.gauge.set(1);
  }

  onApplicationShutdown(): void {
    this.closed = true;
    clearTimeout(this.probeTimer);
  }
}
