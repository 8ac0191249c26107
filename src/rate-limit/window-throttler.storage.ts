import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Clock } from '../common/clock';

/** Counters kept at most; past it the oldest go first (a client counted again from zero). */
export const MAX_WINDOW_KEYS = 100_000;

interface Window {
  hits: number;
  /** When the window's count starts again (epoch ms). */
  resetsAt: number;
  /** Until when its client is refused (epoch ms; 0: not blocked). */
  blockedUntil: number;
}

/**
 * This instance's rate-limit counters: a fixed window per client and limit, the same rules as the
 * Redis script the cluster counts with (@nest-lab/throttler-storage-redis: INCR, the window's
 * expiry set on its first hit, a block of `blockDuration` once past the limit), so a Redis outage
 * changes where hits are counted, not how. O(1) per hit: @nestjs/throttler's own memory storage
 * keeps a timestamp per hit and filters them all on every request — O(limit) each, a third of the
 * gateway's CPU at a limit of 10 million a minute (bench/usage-api).
 */
export class WindowThrottlerStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  private sweptAt = 0;

  constructor(
    private readonly now: Clock,
    private readonly maxKeys = MAX_WINDOW_KEYS,
  ) {}

  get size(): number {
    return this.windows.size;
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const now = this.now();
    this.sweep(now, ttl);
    const id = `${key}:${throttlerName}`;
    let window = this.windows.get(id);
    if (!window || window.resetsAt <= now) {
      if (window) this.windows.delete(id);
      else if (this.windows.size >= this.maxKeys)
        this.windows.delete(this.windows.keys().next().value!);
      window = { hits: 0, resetsAt: now + ttl, blockedUntil: window?.blockedUntil ?? 0 };
      this.windows.set(id, window);
    }
    window.hits++;
    let blocked = window.blockedUntil > now;
    if (!blocked && window.blockedUntil !== 0) {
      // A block that ran out: counting starts again with this hit.
      window.blockedUntil = 0;
      window.hits = 1;
      window.resetsAt = now + ttl;
    } else if (!blocked && window.hits > limit) {
      window.blockedUntil = now + blockDuration;
      blocked = true;
    }
    return Promise.resolve({
      totalHits: window.hits,
      timeToExpire: Math.ceil((window.resetsAt - now) / 1000),
      isBlocked: blocked,
      timeToBlockExpire: blocked ? Math.ceil((window.blockedUntil - now) / 1000) : 0,
    });
  }

  /** Drops counters whose window and block are over, at most once per window length. */
  private sweep(now: number, ttl: number): void {
    if (now - this.sweptAt < ttl) return;
    this.sweptAt = now;
    for (const [id, window] of this.windows)
      if (window.resetsAt <= now && window.blockedUntil <= now) this.windows.delete(id);
  }
}
