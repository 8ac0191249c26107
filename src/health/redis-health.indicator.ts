import { withDeadline } from '../common/deadline';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RedisConnection } from '../redis/redis-connection';

const PING_TIMEOUT_MS = 1000;

/**
 * Reports whether Redis answers a PING. Redis is optional (docs/design.md §2): when `REDIS_URL` is
 * unset it is reported as not configured, and a down Redis is reported without failing readiness.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly redis: RedisConnection,
    private readonly indicators: HealthIndicatorService,
  ) {}

  /** Always `up`: a Redis that does not answer is reported (`reachable: false`), never fatal. */
  async check(key: string) {
    const indicator = this.indicators.check(key);
    const client = this.redis.client;
    if (!client) return indicator.up({ configured: false });
    try {
      if (!(await this.redis.connected(PING_TIMEOUT_MS))) throw new Error('not connected');
      await withDeadline(client.ping(), PING_TIMEOUT_MS, 'PING');
      return indicator.up({ configured: true, reachable: true });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return indicator.up({ configured: true, reachable: false, required: false, message });
    }
  }
}
