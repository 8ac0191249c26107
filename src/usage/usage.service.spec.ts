import { fake } from '../../test/support/fake';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DomainEvents } from '../common/domain-events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BridgeUnavailableError } from '../bridge/bridge-call.error';
import type { BridgeClient, BridgeResponse } from '../bridge/bridge-client';
import { loadConfig } from '../config/load-config';
import type { SnapshotStore } from './snapshot.store';
import { UsageCache } from './usage-cache';
import type { UsageConfigService } from './usage-config.service';
import { CHANGE_DETECTION_MAX_KEYS, UsageService } from './usage.service';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A UsageService whose bridge answers only when the test says so. */
function serviceWith(env: Record<string, string>) {
  const config = loadConfig({ USAGE_CACHE_TTL_MS: '1000', USAGE_READ_DEADLINE_MS: '1000', ...env });
  let now = 1_000_000;
  const cache = new UsageCache(config, () => now);
  const calls: Array<ReturnType<typeof deferred<BridgeResponse<unknown>>>> = [];
  const get = vi.fn((route: string) => {
    // Today's daily report, read after a changed stats payload, is not what these tests count.
    if (route === '/usage/reports/daily')
      return Promise.resolve({ data: { daily: [] }, upstream: 'primary' as const });
    const call = deferred<BridgeResponse<unknown>>();
    calls.push(call);
    return call.promise;
  });
  // `get` is generic in the payload's type: the cast is at that member only.
  const client = fake<BridgeClient>({ get: get as BridgeClient['get'] });
  const snapshots = fake<SnapshotStore>({
    record: vi.fn(),
    latest: vi.fn(async () => null),
  });
  const usageConfig = fake<UsageConfigService>({
    current: vi.fn(async () => ({
      plan: 'pro' as const,
      custom_limit_tokens: null,
      timezone: 'UTC',
      reset_hour: null,
      theme: 'auto' as const,
      updated_at: new Date(now).toISOString(),
    })),
  });
  const events = new DomainEvents(new EventEmitter2());
  const emit = vi.spyOn(events, 'emit');
  const service = new UsageService(
    client,
    cache,
    snapshots,
    usageConfig,
    events,
    config,
    () => now,
  );
  return {
    service,
    calls,
    advance: (ms: number) => (now += ms),
    emitted: () =>
      emit.mock.calls.filter(([, event]) => (event as { kind: string }).kind === 'stats').length,
  };
}

describe('UsageService read deadline', () => {
  afterEach(() => vi.useRealTimers());

  it('answers from the last value when the bridge hangs, and the late answer refreshes the cache', async () => {
    vi.useFakeTimers();
    const { service, calls, advance } = serviceWith({});
    const first = service.stats({});
    await vi.advanceTimersByTimeAsync(0);
    calls[0].resolve({ data: { totals: { tokens: 1 } }, upstream: 'primary' });
    expect(await first).toMatchObject({ source: 'bridge', payload: { totals: { tokens: 1 } } });

    advance(5_000); // the cached value expired
    const hung = service.stats({});
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(2); // the refresh went out…
    await vi.advanceTimersByTimeAsync(1);
    // …and at the deadline the read answers with the last value and its age.
    expect(await hung).toEqual({
      payload: { totals: { tokens: 1 } },
      source: 'cache',
      ageSeconds: 5,
    });

    calls[1].resolve({ data: { totals: { tokens: 2 } }, upstream: 'primary' }); // the bridge wakes up
    await vi.advanceTimersByTimeAsync(0);
    expect(await service.stats({})).toMatchObject({
      source: 'cache',
      ageSeconds: 0,
      payload: { totals: { tokens: 2 } },
    });
    expect(calls).toHaveLength(2);
  });

  it('with nothing cached, answers the stored fallback at the deadline; a late failure is only logged', async () => {
    vi.useFakeTimers();
    const { service, calls } = serviceWith({ USAGE_READ_DEADLINE_MS: '250' });
    const read = service.stats({ plan: 'max5' });
    await vi.advanceTimersByTimeAsync(250);
    const answer = await read;
    expect(answer.source).toBe('default');
    expect((answer.payload.config_applied as { plan: string }).plan).toBe('max5');
    calls[0].reject(new BridgeUnavailableError('timeout'));
    await vi.advanceTimersByTimeAsync(0); // no unhandled rejection
  });

  it('a bridge that answers before the deadline is served as such', async () => {
    vi.useFakeTimers();
    const { service, calls } = serviceWith({});
    const read = service.sessions({});
    await vi.advanceTimersByTimeAsync(900);
    calls[0].resolve({ data: { sessions: [] }, upstream: 'primary' });
    expect(await read).toMatchObject({ source: 'bridge', ageSeconds: null });
  });
});

describe('UsageService change detection', () => {
  it('remembers a bounded number of parameter sets, forgetting the least recently used', async () => {
    const { service, calls, emitted } = serviceWith({ USAGE_CACHE_TTL_MS: '0' });
    const read = async (limit: number) => {
      const answer = service.stats({ plan: 'custom', custom_limit_tokens: limit });
      await new Promise((r) => setImmediate(r));
      calls.at(-1)!.resolve({ data: { same: true }, upstream: 'primary' });
      return answer;
    };
    await read(1);
    expect(emitted()).toBe(1);
    await read(1);
    expect(emitted()).toBe(1); // unchanged: not announced again
    for (let limit = 2; limit <= CHANGE_DETECTION_MAX_KEYS + 1; limit++) await read(limit);
    expect(emitted()).toBe(CHANGE_DETECTION_MAX_KEYS + 1);
    // The oldest parameter set was forgotten, so its unchanged payload is announced once more.
    await read(1);
    expect(emitted()).toBe(CHANGE_DETECTION_MAX_KEYS + 2);
  }, 30_000);
});
