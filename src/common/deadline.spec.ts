import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineExceeded, settledWithin, withDeadline } from './deadline';

describe('deadlines', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const after = <T>(ms: number, value: T) =>
    new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

  it('withDeadline: the result in time, else a DeadlineExceeded naming the call', async () => {
    const inTime = withDeadline(after(50, 'ok'), 100, 'the ping');
    await vi.advanceTimersByTimeAsync(50);
    await expect(inTime).resolves.toBe('ok');

    const late = withDeadline(after(500, 'late'), 100, 'the ping');
    const outcome = late.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    const error = await outcome;
    expect(error).toBeInstanceOf(DeadlineExceeded);
    expect((error as Error).message).toBe('the ping: no answer within 100 ms');
    expect(vi.getTimerCount()).toBe(1); // only the work's own timer is left
  });

  it('settledWithin: the result in time, undefined after; an error in time is thrown', async () => {
    const late = settledWithin(after(500, 'late'), 100);
    await vi.advanceTimersByTimeAsync(100);
    await expect(late).resolves.toBeUndefined();
    await expect(settledWithin(Promise.reject(new Error('down')), 100)).rejects.toThrow('down');
    // A work that fails after the deadline is no unhandled rejection.
    const failing = new Promise((_, reject) => setTimeout(() => reject(new Error('x')), 200));
    const early = settledWithin(failing, 100);
    await vi.advanceTimersByTimeAsync(200);
    await expect(early).resolves.toBeUndefined();
  });
});
