import { describe, expect, it } from 'vitest';
import { SocketRateLimiter } from './socket-rate-limiter';

describe('SocketRateLimiter', () => {
  it('allows a burst of the rate, refills over time, and asks to disconnect a persistent flood', () => {
    let now = 0;
    const limiter = new SocketRateLimiter(20, () => now);
    const burst = Array.from({ length: 20 }, () => limiter.take());
    expect(burst.every((v) => v === 'ok')).toBe(true);
    expect(limiter.take()).toBe('limited');
    now += 100; // 2 tokens back
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual(['ok', 'ok', 'limited']);
    const verdicts = Array.from({ length: 40 }, () => limiter.take());
    expect(verdicts.at(-1)).toBe('disconnect');
    expect(verdicts.filter((v) => v === 'limited').length).toBe(38);
  });

  it('keeps a steady sender at the rate untouched', () => {
    let now = 0;
    const limiter = new SocketRateLimiter(20, () => now);
    for (let i = 0; i < 1000; i++) {
      now += 50;
      expect(limiter.take()).toBe('ok');
    }
  });
});

describe('SocketRateLimiter notices', () => {
  it('tells a limited client at most once a second', () => {
    let now = 0;
    const limiter = new SocketRateLimiter(5, () => now);
    expect([limiter.noticeDue(), limiter.noticeDue()]).toEqual([true, false]);
    now = 999;
    expect(limiter.noticeDue()).toBe(false);
    now = 1000;
    expect(limiter.noticeDue()).toBe(true);
  });
});
