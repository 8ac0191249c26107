import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config';
import { USAGE_CACHE_MAX_KEYS, UsageCache } from './usage-cache';
import { paramsKey } from './usage-params';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('UsageCache', () => {
  it('serves a fresh entry, then lets one caller refresh while the others get the stale value', async () => {
    let now = 0;
    const cache = new UsageCache(loadConfig({ USAGE_CACHE_TTL_MS: '1000' }), () => now);
    let loads = 0;
    const first = await cache.get('k', async () => ++loads);
    expect(first).toMatchObject({ value: 1, hit: false });
    now = 500;
    expect(await cache.get('k', async () => ++loads)).toMatchObject({ value: 1, hit: true });

    now = 5000;
    const slow = deferred<number>();
    const refresher = cache.get('k', () => slow.promise);
    const others = await Promise.all([1, 2, 3].map(() => cache.get('k', async () => ++loads)));
    expect(others.map((o) => [o.value, o.hit])).toEqual([
      [1, true],
      [1, true],
      [1, true],
    ]);
    slow.resolve(2);
    expect(await refresher).toMatchObject({ value: 2, hit: false });
    expect(loads).toBe(1);
    expect(cache.fresh('k')).toMatchObject({ value: 2, at: 5000 });
    now = 6000;
    expect(cache.fresh('k')).toBeUndefined();
  });

  it('with a TTL of 0 stores nothing, and concurrent misses share one load', async () => {
    const cache = new UsageCache(loadConfig({ USAGE_CACHE_TTL_MS: '0' }), () => 0);
    const pending = deferred<string>();
    let loads = 0;
    const calls = [1, 2, 3].map(() => cache.get('k', () => (loads++, pending.promise)));
    pending.resolve('v');
    expect((await Promise.all(calls)).map((c) => c.value)).toEqual(['v', 'v', 'v']);
    expect(loads).toBe(1);
    expect(cache.fresh('k')).toBeUndefined();
  });
});

describe('paramsKey', () => {
  it('is the same for equal parameters whatever their order and type', () => {
    expect(paramsKey({ plan: 'pro', reset_hour: 4, timezone: undefined })).toBe(
      paramsKey({ reset_hour: '4', plan: 'pro', custom_limit_tokens: null }),
    );
    expect(paramsKey({ plan: 'pro' })).not.toBe(paramsKey({ plan: 'max5' }));
  });

  it('keeps at most USAGE_CACHE_MAX_KEYS parameter sets, dropping the least recently used', async () => {
    const cache = new UsageCache(loadConfig({ USAGE_CACHE_TTL_MS: '60000' }), () => 0);
    for (let i = 0; i < USAGE_CACHE_MAX_KEYS * 4; i++) await cache.get(`k${i}`, async () => i);
    expect(cache.size).toBe(USAGE_CACHE_MAX_KEYS);
    expect(cache.peek('k0')).toBeUndefined();
    expect(cache.peek(`k${USAGE_CACHE_MAX_KEYS * 4 - 1}`)).toEqual({
      value: USAGE_CACHE_MAX_KEYS * 4 - 1,
      at: 0,
    });
  });
});
