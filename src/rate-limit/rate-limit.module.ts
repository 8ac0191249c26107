import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../redis/redis-connection';
import { ResilientThrottlerStorage } from './resilient-throttler.storage';
import { isReadRequest, RestRateLimitGuard } from './rest-rate-limit.guard';

const MINUTE_MS = 60_000;
const CONNECT_WAIT_MS = 2000;

/** REST rate limits (@nestjs/throttler), shared through Redis when REDIS_URL is set. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, RedisConnection, CLOCK],
      useFactory: async (config: AppConfig, connection: RedisConnection, clock: Clock) => {
        const redis = connection.client;
        // Connected before the first request when Redis is there; the boot never waits long for it.
        await connection.connected(CONNECT_WAIT_MS);
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
            // The connection is RedisConnection's to close, not the storage's.
            redis && new ThrottlerStorageRedisService(redis),
            clock,
          ),
        };
      },
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RestRateLimitGuard }],
})
export class RateLimitModule {}
