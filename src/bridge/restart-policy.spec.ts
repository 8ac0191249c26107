import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RestartPolicy } from './restart-policy';

describe('RestartPolicy', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const settings = {
    autoRestart: true,
    maxRestarts: 3,
    restartDelayMs: 2000,
    maxBackoffMs: 20_000,
    stableAfterMs: 600_000,
  };
  const policy = () => new RestartPolicy(settings);

  it('doubles the delay from BRIDGE_RESTART_DELAY_MS up to BRIDGE_MAX_BACKOFF_MS and never gives up', () => {
    const restarts = policy();
    const delays = Array.from({ length: 8 }, () => restarts.next('crashed'));
    expect(delays.map((d) => d.restart && d.delayMs)).toEqual([
      2000, 4000, 8000, 16_000, 20_000, 20_000, 20_000, 20_000,
    ]);
    // Past BRIDGE_MAX_RESTARTS it is announced as crash-looping, and still restarted.
    expect(delays.map((d) => d.restart && d.crashLooping)).toEqual([
      false,
      false,
      false,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(restarts.restarts).toBe(8);
  });

  it('forgives only a bridge that stayed ready for BRIDGE_STABLE_AFTER_MS', () => {
    const restarts = policy();
    restarts.next('crashed');
    restarts.next('crashed');
    let same = true;
    restarts.readyAgain(() => same);
    // A crash a minute after each start is still a crash loop: the delay keeps growing.
    vi.advanceTimersByTime(60_000);
    expect(restarts.next('crashed')).toMatchObject({ delayMs: 8000, attempt: 3 });
    restarts.readyAgain(() => same);
    vi.advanceTimersByTime(599_999);
    expect(restarts.restarts).toBe(3);
    vi.advanceTimersByTime(1);
    expect(restarts.restarts).toBe(0);
    expect(restarts.next('crashed')).toMatchObject({ delayMs: 2000, attempt: 1 });

    restarts.readyAgain(() => same);
    same = false; // replaced before the period was over
    vi.advanceTimersByTime(600_000);
    expect(restarts.next('crashed')).toMatchObject({ delayMs: 4000, attempt: 2 });
  });

  it('never restarts with auto-restart off', () => {
    const off = new RestartPolicy({ ...settings, autoRestart: false });
    expect(off.next('crashed')).toEqual({ restart: false, why: 'auto-restart is off: crashed' });
  });
});
