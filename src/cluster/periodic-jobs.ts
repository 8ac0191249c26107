import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ClusterLock } from './cluster-lock';

/** A cluster job's lock outlives its period by less than this, so the next period's run gets it. */
const LOCK_MARGIN_MS = 60_000;

export interface JobOptions {
  /**
   * Once per period across all instances: the instance that takes the cluster lock runs it, and
   * holds the lock for the whole run and until the period is (almost) over. Otherwise the job
   * runs on every instance.
   */
  readonly cluster?: boolean;
  /** Run once right away too (what a stopped instance left undone). */
  readonly runAtStart?: boolean;
}

/**
 * The one scheduler of periodic jobs (@nestjs/schedule's registry: they are listed and stopped
 * in one place). A job never overlaps itself on an instance: a tick while it still runs is
 * skipped. A failed run is logged (with the job's name) and tried again at the next tick.
 */
@Injectable()
export class PeriodicJobs implements OnApplicationShutdown {
  private readonly logger = new Logger(PeriodicJobs.name);
  private readonly names: string[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly lock: ClusterLock,
  ) {}

  every(
    name: string,
    periodMs: number,
    job: () => Promise<unknown>,
    { cluster = false, runAtStart = false }: JobOptions = {},
  ): void {
    const tick = () => void this.run(name, periodMs, job, cluster);
    const handle = setInterval(tick, periodMs);
    handle.unref();
    this.registry.addInterval(name, handle);
    this.names.push(name);
    if (runAtStart) tick();
  }

  /** The run under way of a job, if any (tests wait for it). */
  runs(name: string): Promise<void> | undefined {
    return this.running.get(name);
  }

  private run(
    name: string,
    periodMs: number,
    job: () => Promise<unknown>,
    cluster: boolean,
  ): Promise<void> {
    const current = this.running.get(name);
    if (current || this.stopped) return current ?? Promise.resolve();
    const ttlMs = Math.max(periodMs - LOCK_MARGIN_MS, Math.ceil(periodMs / 2));
    const run = (cluster ? this.lock.runExclusive(name, ttlMs, job, { release: false }) : job())
      .then(() => undefined)
      .catch((error: unknown) =>
        this.logger.warn(`periodic job ${name} failed: ${(error as Error).message}`),
      )
      .finally(() => this.running.delete(name));
    this.running.set(name, run);
    return run;
  }

  /** Stops every tick, then waits for the runs under way. */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const name of this.names.splice(0))
      if (this.registry.doesExist('interval', name)) this.registry.deleteInterval(name);
    await Promise.allSettled([...this.running.values()]);
  }
}
