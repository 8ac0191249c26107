import { withDeadline } from '../common/deadline';
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Clock } from '../common/clock';
import { WindowThrottlerStorage } from './window-throttler.storage';

/** A Redis answer slower than this counts as Redis being away for this request. */
const SHARED_TIMEOUT_MS = 250;

/**
 * Counts hits in the shared store (Redis, so every instance counts against one budget) and, when
 * that store does not answer, in this instance's memory: a Redis outage loosens the limits to
 * per-instance ones for its duration instead of failing every request.
 */
export class ResilientThrottlerStorage implements ThrottlerStorage, OnModuleDestroy {
  private readonly logger = new Logger(ResilientThrottlerStorage.name);
  private readonly local: WindowThrottlerStorage;
  private sharedDown = false;

  constructor(
    private readonly shared: (ThrottlerStorage & Partial<OnModuleDestroy>) | undefined,
    clock: Clock,
  ) {
    this.local = new WindowThrottlerStorage(clock);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    if (this.shared) {
      try {
        const record = await withDeadline(
          this.shared.increment(key, ttl, limit, blockDuration, throttlerName),
          SHARED_TIMEOUT_MS,
          'the shared store',
        );
        if (this.sharedDown) this.logger.log('shared rate-limit store is back');
        this.sharedDown = false;
        return record;
      } catch (error) {
        if (!this.sharedDown)
          this.logger.warn(
            `shared rate-limit store unavailable (${(error as Error).message}); counting per instance`,
          );
        this.sharedDown = true;
      }
    }
    return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
  }

  onModuleDestroy(): void {
    this.shared?.onModuleDestroy?.();
  }
}
