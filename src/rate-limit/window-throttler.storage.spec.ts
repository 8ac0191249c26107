import { describe, expect, it } from 'vitest';
import { WindowThrottlerStorage } from './window-throttler.storage';

const MINUTE = 60_000;

describe('the local rate-limit counters (fixed windows, as the Redis script counts)', () => {
  const clock = (start = 1_000_000) => {
    let t = start;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('counts hits in a window, blocks past the limit for the block duration, then counts afresh', async () => {
    const time = clock();
    const store = new WindowThrottlerStorage(time.now);
    const hit = () => store.increment('1.2.3.4', MINUTE, 3, MINUTE, 'reads');
    expect(await hit()).toEqual({
      totalHits: 1,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    time.advance(10_000);
    await hit();
    expect((await hit()).isBlocked).toBe(false);
    expect(await hit()).toEqual({
      totalHits: 4,
      timeToExpire: 50,
      isBlocked: true,
      timeToBlockExpire: 60,
    });
    // Blocked for the block duration, even once the window itself is over.
    time.advance(55_000);
    expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 5 });
    time.advance(5_000);
    expect(await hit()).toEqual({
      totalHits: 1,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
  });

  it('keeps each client and each limit apart', async () => {
    const store = new WindowThrottlerStorage(clock().now);
    await store.increment('a', MINUTE, 1, MINUTE, 'reads');
    expect((await store.increment('a', MINUTE, 1, MINUTE, 'reads')).isBlocked).toBe(true);
    expect((await store.increment('b', MINUTE, 1, MINUTE, 'reads')).isBlocked).toBe(false);
    expect((await store.increment('a', MINUTE, 1, MINUTE, 'writes')).isBlocked).toBe(false);
  });

  it('holds at most its key budget and forgets finished windows', async () => {
    const time = clock();
    const store = new WindowThrottlerStorage(time.now, 100);
    for (let i = 0; i < 1000; i++)
      await store.increment(`client-${i}`, MINUTE, 10, MINUTE, 'reads');
    expect(store.size).toBe(100);
    time.advance(MINUTE);
    await store.increment('late', MINUTE, 10, MINUTE, 'reads');
    expect(store.size).toBe(1);
  });

  it('keeps one counter per client however high the limit (no list of hits to filter)', async () => {
    const store = new WindowThrottlerStorage(clock().now);
    for (let i = 0; i < 50_000; i++)
      await store.increment('k', MINUTE, 10_000_000, MINUTE, 'reads');
    expect(await store.increment('k', MINUTE, 10_000_000, MINUTE, 'reads')).toMatchObject({
      totalHits: 50_001,
      isBlocked: false,
    });
    expect(store.size).toBe(1);
  });
});
