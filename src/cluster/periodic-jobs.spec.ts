import { fake } from '../../test/support/fake';
import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterLock } from './cluster-lock';
import { PeriodicJobs } from './periodic-jobs';

describe('PeriodicJobs', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const setup = () => {
    const runExclusive = vi.fn(
      async (_name: string, _ttl: number, job: () => Promise<unknown>) => (await job(), true),
    );
    const registry = new SchedulerRegistry();
    const jobs = new PeriodicJobs(registry, fake<ClusterLock>({ runExclusive }));
    return { jobs, registry, runExclusive };
  };

  it('registers each job in the one registry; cluster jobs go through the lock, kept for the period', async () => {
    const { jobs, registry, runExclusive } = setup();
    const local = vi.fn(async () => undefined);
    const cluster = vi.fn(async () => undefined);
    jobs.every('local', 1000, local);
    jobs.every('prune', 3_600_000, cluster, { cluster: true, runAtStart: true });
    expect(registry.getIntervals().sort()).toEqual(['local', 'prune']);
    await vi.advanceTimersByTimeAsync(0);
    expect(cluster).toHaveBeenCalledTimes(1);
    expect(runExclusive).toHaveBeenCalledWith('prune', 3_540_000, expect.any(Function), {
      release: false,
    });
    await vi.advanceTimersByTimeAsync(3000);
    expect(local).toHaveBeenCalledTimes(3);
    expect(runExclusive).toHaveBeenCalledTimes(1);
  });

  it('never overlaps a run of the same job, and logs a failed run then goes on', async () => {
    const { jobs } = setup();
    let finish: () => void = () => undefined;
    const slow = vi.fn(() => new Promise<void>((r) => (finish = r)));
    jobs.every('slow', 100, slow);
    await vi.advanceTimersByTimeAsync(350);
    expect(slow).toHaveBeenCalledTimes(1); // ticks while it runs are skipped
    finish();
    await vi.advanceTimersByTimeAsync(100);
    expect(slow).toHaveBeenCalledTimes(2);

    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const failing = vi.fn(async () => {
      throw new Error('database away');
    });
    jobs.every('failing', 100, failing);
    await vi.advanceTimersByTimeAsync(200);
    expect(failing).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenCalledWith('periodic job failing failed: database away');
    warn.mockRestore();
  });

  it('stops every tick at shutdown and waits for the runs under way', async () => {
    const { jobs, registry } = setup();
    let finished = false;
    let finish: () => void = () => undefined;
    jobs.every(
      'work',
      100,
      () => new Promise<void>((r) => (finish = () => ((finished = true), r()))),
      {
        runAtStart: true,
      },
    );
    const stopping = jobs.onApplicationShutdown();
    expect(registry.getIntervals()).toEqual([]);
    finish();
    await stopping;
    expect(finished).toBe(true);
  });
});
