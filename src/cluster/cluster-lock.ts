import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { RedisConnection } from '../redis/redis-connection';

const KEY_PREFIX = 'usage-gateway:lock:';
/** Deletes the lock only if it is still ours (it may have expired and been taken by another). */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/** Extends the lock only if it is still ours. */
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Cluster-wide jobs (snapshot pruning) run on one instance at a time: a Redis lock
 * (SET NX PX, released only by its owner). Without REDIS_URL there is one instance and the job
 * just runs. If Redis cannot be reached the job runs anyway: the jobs guarded here are idempotent,
 * and skipping them for the length of an outage would be worse than running them twice.
 */
@Injectable()
export class ClusterLock {
  private readonly logger = new Logger(ClusterLock.name);

  constructor(private readonly connection: RedisConnection) {}

  /**
   * Runs `job` unless another instance holds `name`; returns whether it ran here. The lock is
   * held for the whole run, however long (extended every third of `ttlMs` while the job runs).
   * With `release: false` it is kept until it expires: a periodic job then runs once per `ttlMs`
   * across the cluster, whichever instance gets there first.
   */
  async runExclusive(
    name: string,
    ttlMs: number,
    job: () => Promise<unknown>,
    { release = true }: { release?: boolean } = {},
  ): Promise<boolean> {
    const redis = this.connection.client;
    if (!redis) {
      await job();
      return true;
    }
    const key = KEY_PREFIX + name;
    const token = randomUUID();
    let owned = false;
    try {
      await this.connection.connected();
      owned = (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK';
      if (!owned) return false;
    } catch (error) {
      this.logger.warn(
        `lock ${name}: Redis unavailable (${(error as Error).message}); running here`,
      );
    }
    const extend = owned
      ? setInterval(
          () => void redis.eval(EXTEND, 1, key, token, ttlMs).catch(() => undefined),
          Math.max(1, Math.floor(ttlMs / 3)),
        )
      : undefined;
    extend?.unref();
    try {
      await job();
      return true;
    } finally {
      clearInterval(extend);
      if (owned && release) await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  }
}
