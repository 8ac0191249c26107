import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { ResilientThrottlerStorage } from './resilient-throttler.storage';
import { isReadRequest, RestRateLimitGuard } from './rest-rate-limit.guard';

const MINUTE_MS = 60_000;
const CONNECT_WAIT_MS = 2000;

/** REST rate limits (@nestjs/throttler), shared through Redis when REDIS_URL is set. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => {
        const redis =
          config.redis.url === undefined
            ? undefined
            : new Redis(config.redis.url, {
                lazyConnect: true,
                enableOfflineQueue: false,
                maxRetriesPerRequest: 0,
                retryStrategy: (attempt) => Math.min(attempt * 500, 5000),
              });
        redis?.on('error', () => undefined); // reported by /health; counted locally meanwhile
        // Connected before the first request when Redis is there; the boot never waits long for it.
        if (redis)
          await Promise.race([
            redis.connect().catch(() => undefined),
            new Promise((resolve) => setTimeout(resolve, CONNECT_WAIT_MS).unref()),
          ]);
        return {
          throttlers: [
            {
              name: 'reads',
              ttl: MINUTE_MS,
              limit: config.rateLimit.readsPerMin,
              skipIf: (context) => !isReadRequest(context),
            },
            {
              name: 'writes',
              ttl: MINUTE_MS,
              limit: config.rateLimit.writesPerMin,
              skipIf: isReadRequest,
            },
          ],
          storage: new ResilientThrottlerStorage(
            redis &&
              Object.assign(new ThrottlerStorageRedisService(redis), { disconnectRequired: true }),
          ),
        };
      },
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RestRateLimitGuard }],
})
export class RateLimitModule {}
