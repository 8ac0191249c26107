import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';

import { LRUCache } from 'lru-cache';

/**
 * Distinct parameter sets kept (callers choose them: `custom_limit_tokens` takes any value), so
 * the cache's memory is bounded whatever the traffic; the least recently used go first.
 */
export const USAGE_CACHE_MAX_KEYS = 500;

export interface Cached<T> {
  readonly value: T;
  /** Epoch ms the value was fetched. */
  readonly at: number;
  /** Whether this caller got a stored value (true) or waited for a fetch (false). */
  readonly hit: boolean;
}

/**
 * In-memory cache of usage reads (USAGE_CACHE_TTL_MS; 0 turns it off), stale-while-revalidate:
 * after expiry the first caller fetches while the others keep getting the stored value, so a
 * burst never queues behind the bridge.
 */
@Injectable()
export class UsageCache {
  private readonly entries = new LRUCache<string, { value: unknown; at: number }>({
    max: USAGE_CACHE_MAX_KEYS,
  });
  private readonly refreshing = new Map<string, Promise<unknown>>();
  private readonly ttlMs: number;

  constructor(
    config: AppConfig,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.ttlMs = config.usage.cacheTtlMs;
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** `fresh`: never a stored value — a call in flight for the key is shared, else one starts. */
  async get<T>(key: string, load: () => Promise<T>, fresh = false): Promise<Cached<T>> {
    const now = this.now();
    const entry = fresh
      ? undefined
      : (this.entries.get(key) as { value: T; at: number } | undefined);
    if (entry && now - entry.at < this.ttlMs) return { ...entry, hit: true };
    const inflight = this.refreshing.get(key) as Promise<T> | undefined;
    if (inflight && entry) return { ...entry, hit: true };
    const fetch =
      inflight ??
      load()
        .then((value) => {
          if (this.enabled) this.store(key, value);
          return value;
        })
        .finally(() => this.refreshing.delete(key));
    if (!inflight) this.refreshing.set(key, fetch);
    const value = await fetch;
    return { value, at: this.now(), hit: false };
  }

  /** The entry if still within its TTL (a fallback may serve it). */
  fresh<T>(key: string): { value: T; at: number } | undefined {
    const now = this.now();
    const entry = this.entries.get(key) as { value: T; at: number } | undefined;
    return entry && now - entry.at < this.ttlMs ? entry : undefined;
  }

  /** The last value stored for `key`, however old (a deadline-bound read may serve it). */
  peek<T>(key: string): { value: T; at: number } | undefined {
    return this.entries.get(key) as { value: T; at: number } | undefined;
  }

  /** How many parameter sets are cached (at most USAGE_CACHE_MAX_KEYS). */
  get size(): number {
    return this.entries.size;
  }

  private store(key: string, value: unknown): void {
    this.entries.set(key, { value, at: this.now() });
  }
}
