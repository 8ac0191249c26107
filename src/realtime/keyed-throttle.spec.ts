import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeyedThrottle } from './keyed-throttle';

describe('KeyedThrottle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs at once, coalesces triggers within the interval into one run at its end, per key', () => {
    const runs: Array<[string, number]> = [];
    const throttle = new KeyedThrottle(2000, (key) => runs.push([key, Date.now()]));
    const t0 = Date.now();
    throttle.trigger('a');
    throttle.trigger('a');
    throttle.trigger('b');
    vi.advanceTimersByTime(500);
    throttle.trigger('a');
    expect(runs).toEqual([
      ['a', t0],
      ['b', t0],
    ]);
    vi.advanceTimersByTime(1500);
    expect(runs.at(-1)).toEqual(['a', t0 + 2000]);
    vi.advanceTimersByTime(2000);
    expect(runs).toHaveLength(3);
    throttle.trigger('a');
    expect(runs).toHaveLength(4);
    throttle.stop();
  });
});
