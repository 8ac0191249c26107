import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import Redis, { type RedisOptions } from 'ioredis';
import { AppConfig } from '../config/app-config';

/** How long a command waits for a (re)connection before it fails. */
const CONNECT_TIMEOUT_MS = 1000;

/**
 * The gateway's one Redis command connection (docs/design.md §2: Redis is optional). Health, the cluster
 * lock and the REST rate limits share it. It fails fast instead of queueing while Redis is away
 * (each user has its own answer to that: reported, run anyway, counted locally) and reconnects in
 * the background for good. The Socket.IO adapter's blocking stream reads need a connection of
 * their own: `duplicate()`.
 */
@Injectable()
export class RedisConnection implements OnModuleDestroy {
  /** Undefined without REDIS_URL: one instance, nothing to share. */
  readonly client: Redis | undefined;
  private readonly url: string | undefined;

  constructor(config: AppConfig) {
    this.url = config.redis.url;
    this.client = this.url
      ? new Redis(this.url, {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          connectTimeout: CONNECT_TIMEOUT_MS,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        })
      : undefined;
    // A dropped connection is each user's to report; it must never crash the process.
    this.client?.on('error', () => undefined);
  }

  /**
   * Connects once (a no-op afterwards); resolves whether Redis is ready, at the latest after
   * `waitMs` and at once when an attempt fails. Never rejects: while Redis is away the client
   * keeps reconnecting by itself.
   */
  async connected(waitMs = CONNECT_TIMEOUT_MS): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    if (client.status === 'ready') return true;
    if (client.status === 'wait') void client.connect().catch(() => undefined);
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('error', onError);
        resolve(ok);
      };
      const onReady = () => done(true);
      // A refused or failed attempt answers at once; the next one is the client's own business.
      const onError = () => done(false);
      const timer = setTimeout(() => done(client.status === 'ready'), waitMs);
      timer.unref();
      client.once('ready', onReady);
      client.once('error', onError);
    });
  }

  /**
   * A connection of its own to the same Redis, with its own options; the caller closes it (the
   * Socket.IO adapter quits it once the server has closed, so in-flight commands finish).
   */
  duplicate(options: RedisOptions): Redis {
    if (!this.url) throw new Error('REDIS_URL is not set');
    return new Redis(this.url, options);
  }

  onModuleDestroy(): void {
    this.client?.disconnect();
  }
}
