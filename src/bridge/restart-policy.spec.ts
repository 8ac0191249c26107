import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RestartPolicy } from './restart-policy';

describe('RestartPolicy', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const policy = () =>
    new RestartPolicy({ autoRestart: true, maxRestarts: 3, restartDelayMs: 2000 }, 5000);

  it('doubles the delay from BRIDGE_RESTART_DELAY_MS and gives up after BRIDGE_MAX_RESTARTS', () => {
    const restarts = policy();
    expect(restarts.next('crashed')).toEqual({ restart: true, delayMs: 2000, attempt: 1 });
    expect(restarts.next('crashed')).toEqual({ restart: true, delayMs: 4000, attempt: 2 });
    expect(restarts.next('crashed')).toEqual({ restart: true, delayMs: 8000, attempt: 3 });
    expect(restarts.next('crashed')).toEqual({
      restart: false,
      why: 'gave up after 3 restart attempts: crashed',
    });
  });

  it('forgives a bridge that stayed ready for the stable period, not one that did not', () => {
    const restarts = policy();
    restarts.next('crashed');
    restarts.next('crashed');
    let same = true;
    restarts.readyAgain(() => same);
    vi.advanceTimersByTime(4999);
    expect(restarts.restarts).toBe(2);
    vi.advanceTimersByTime(1);
    expect(restarts.restarts).toBe(0);
    expect(restarts.next('crashed')).toMatchObject({ delayMs: 2000, attempt: 1 });

    restarts.readyAgain(() => same);
    same = false; // replaced before the period was over
    vi.advanceTimersByTime(5000);
    expect(restarts.next('crashed')).toMatchObject({ delayMs: 4000, attempt: 2 });
  });

  it('never restarts with auto-restart off', () => {
    const off = new RestartPolicy({ autoRestart: false, maxRestarts: 3, restartDelayMs: 10 }, 5000);
    expect(off.next('crashed')).toEqual({ restart: false, why: 'auto-restart is off: crashed' });
  });
});
