import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';

const PING_TIMEOUT_MS = 1000;

/**
 * Reports whether Redis answers a PING. Redis is optional (DESIGN.md §2): when `REDIS_URL` is
 * unset it is reported as not configured, and a down Redis is reported without failing readiness.
 */
@Injectable()
export class RedisHealthIndicator implements OnModuleDestroy {
  private readonly client: Redis | undefined;

  constructor(
    config: AppConfig,
    private readonly indicators: HealthIndicatorService,
  ) {
    this.client = config.redis.url
      ? new Redis(config.redis.url, {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          connectTimeout: PING_TIMEOUT_MS,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        })
      : undefined;
    // A dropped connection is reported by the indicator; it must not crash the process.
    this.client?.on('error', () => undefined);
  }

  async check(key: string, required: boolean) {
    const indicator = this.indicators.check(key);
    if (!this.client) return indicator.up({ configured: false });
    try {
      if (this.client.status === 'wait') await this.client.connect();
      await Promise.race([
        this.client.ping(),
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)),
            PING_TIMEOUT_MS,
          ).unref(),
        ),
      ]);
      return indicator.up({ configured: true, reachable: true });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return required
        ? indicator.down({ configured: true, reachable: false, message })
        : indicator.up({ configured: true, reachable: false, required: false, message });
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.client?.disconnect();
  }
}
