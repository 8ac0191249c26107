import { Global, Module } from '@nestjs/common';
import { RedisConnection } from './redis-connection';

/** The one Redis connection provider (health, cluster lock, rate limits, the Socket.IO adapter). */
@Global()
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class RedisModule {}
