import { Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type Redis from 'ioredis';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { isObservable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../redis/redis-connection';
import { RealtimeMetrics } from './realtime-metrics';
import { type Ack, envelope } from './realtime.protocol';
import { sendDirect } from './send-direct';
import { SocketRateLimiter } from './socket-rate-limiter';
import { originAllowed } from './origin';
import { HostAllowList } from '../common/host-allow-list';
import { SocketServerRef } from './socket-server.ref';

const HANDLERS = Symbol('message handlers');
const LIMITER = Symbol('rate limiter');

/** What the adapter keeps on each socket. */
type Bound = Socket & {
  [HANDLERS]?: MessageMappingProperties[];
  [LIMITER]?: SocketRateLimiter;
};

/**
 * The Redis stream that carries broadcasts between instances holds at most this many bytes:
 * its length (MAXLEN, in entries) is this divided by the largest message (WS_MAX_BUFFER_BYTES,
 * and a stored event is at most 1 MB), at least 1,000 entries. Instances read it as it is written;
 * one that falls further behind catches its clients up from the database (events have ids).
 */
export const REDIS_STREAM_MAX_BYTES = 1024 * 1024 * 1024;
const REDIS_STREAM_MIN_ENTRIES = 1000;

/**
 * Socket.IO on the gateway's HTTP server with the configured limits: origin allow-list (browsers
 * always send Origin; a missing one is a non-browser client), WS_MAX_CONNECTIONS, message size,
 * ping interval and timeout, and a per-socket message rate limit.
 */
@Injectable()
export class RealtimeIoAdapter extends IoAdapter {
  private readonly listeners = new Map<string, (...payload: unknown[]) => void>();
  private redis: Redis | undefined;

  constructor(
    host: HttpAdapterHost,
    private readonly config: AppConfig,
    private readonly metrics: RealtimeMetrics,
    private readonly ref: SocketServerRef,
    private readonly redisConnection: RedisConnection,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    // The HTTP server exists as soon as the platform adapter does, before any provider.
    super(host.httpAdapter.getHttpServer());
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const { corsOrigins } = this.config.server;
    const limits = this.config.realtime;
    const created: { server?: Server } = {};
    const allowed = new Set(corsOrigins);
    const hosts = HostAllowList.forServer(this.config.server);
    const merged: Partial<ServerOptions> = {
      ...options,
      path: '/socket.io',
      serveClient: false,
      // /stream shares the HTTP server's upgrades; engine.io must leave those alone.
      destroyUpgrade: false,
      cors: { origin: [...corsOrigins], credentials: true },
      maxHttpBufferSize: limits.maxBufferBytes,
      pingInterval: limits.pingIntervalMs,
      pingTimeout: limits.pingTimeoutMs,
      // No connection state recovery: Socket.IO would restore a session's rooms and send its
      // missed packets before any middleware sees the new credential, and keep every broadcast
      // for the window. A reconnecting client names its `rooms` and `last_event_id` instead:
      // the credential is checked, only granted rooms are joined, the store replays the rest.
      allowRequest: (req, callback) => {
        if (!hosts.allows(req.headers.host)) return callback('host not allowed', false);
        if (!originAllowed(req, allowed)) return callback('origin not allowed', false);
        if ((created.server?.engine.clientsCount ?? 0) >= limits.maxConnections)
          return callback('too many connections', false);
        callback(null, true);
      },
    };
    if (this.config.redis.url) merged.adapter = this.redisAdapter();
    created.server = super.createIOServer(port, merged as ServerOptions) as Server;
    this.ref.attach(created.server, this.redis);
    return created.server;
  }

  /**
   * Several instances (REDIS_URL): the Redis streams adapter carries broadcasts, server-side
   * events and connection-state-recovery sessions across instances. A lost Redis is retried
   * forever in the background (ioredis); meanwhile each instance keeps serving its own clients.
   */
  private redisAdapter(): ReturnType<typeof createAdapter> {
    const logger = new Logger('RealtimeRedis');
    let lastLog = 0;
    // Blocking stream reads need their own connection. Its commands wait for Redis however long
    // it is away: the adapter sends some without handling a failure (its SUBSCRIBE, a PUBLISH),
    // which would be unhandled rejections, and its read loop then neither spins nor fails.
    // Broadcasts do not queue meanwhile: while Redis is away they are sent locally (crossInstance).
    const redis = this.redisConnection.duplicate({
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    this.redis = redis;
    redis.on('error', (error: Error) => {
      if (Date.now() - lastLog < 10_000) return;
      lastLog = Date.now();
      logger.warn(`Redis unavailable, cross-instance delivery paused: ${error.message}`);
    });
    this.redis.on(
      'ready',
      () => lastLog && logger.log('Redis back, cross-instance delivery resumed'),
    );
    // Redis keeps streams and keys per database, but its Pub/Sub channels are server-wide: the
    // adapter's server-side events (the /stream relay) would reach every deployment on the same
    // Redis server. Naming the database in the channels keeps a deployment to its own database.
    const db = redis.options.db ?? 0;
    const largest = Math.max(
      this.config.realtime.maxBufferBytes,
      this.config.server.bodyLimitBytes,
    );
    return createAdapter(redis, {
      blockTimeInMs: 1000,
      channelPrefix: `usage-gateway#${db}`,
      maxLen: Math.max(REDIS_STREAM_MIN_ENTRIES, Math.floor(REDIS_STREAM_MAX_BYTES / largest)),
    });
  }

  override async close(server: Server): Promise<void> {
    await super.close(server);
    // QUIT lets in-flight commands (a session saved as sockets close) finish first.
    await this.redis?.quit().catch(() => this.redis?.disconnect());
  }

  /**
   * Client messages reach the gateway's handlers through one shared listener per message name,
   * after the per-socket rate limit. Nest's default builds an rxjs pipeline (fromEvent, mergeMap,
   * takeUntil) per handler and socket, and a `socket.use` limiter adds a closure per socket: about
   * 5 KB of an idle connection's heap together (bench/fanout). Behaviour is Nest's: a returned
   * value is the ack, an `{event, data}` reply is emitted, failures go to the gateway's filter.
   */
  /**
   * Nest 12's IoAdapter wraps the callback in another closure and `once` (a wrapper object more
   * per socket, ~0.4 KB of an idle connection's heap in bench/fanout); a socket disconnects once,
   * so the plain listener does the same for less.
   */
  override bindClientDisconnect(client: Socket, callback: (reason: string) => void): void {
    client.on('disconnect', callback);
  }

  override bindMessageHandlers(socket: Socket, handlers: MessageMappingProperties[]): void {
    (socket as Bound)[HANDLERS] = handlers;
    for (const { message } of handlers)
      socket.on(message as string, this.listenerFor(message as string));
  }

  private listenerFor(message: string): (...payload: unknown[]) => void {
    let listener = this.listeners.get(message);
    if (!listener) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const adapter = this;
      // Socket.IO calls listeners with the socket as `this`.
      listener = function (this: Socket, ...payload: unknown[]) {
        adapter.dispatch(this, message, payload);
      };
      this.listeners.set(message, listener);
    }
    return listener;
  }

  private dispatch(socket: Socket, message: string, payload: unknown[]): void {
    const { data, ack } = this.mapPayload(payload);
    if (!this.admit(socket, ack)) return;
    const handler = (socket as Bound)[HANDLERS]?.find((h) => h.message === message);
    if (!handler) return;
    const reply = (response: unknown) => {
      if (response === undefined || response === null) return;
      const event = (response as { event?: string; data?: unknown }).event;
      if (event) return void socket.emit(event, (response as { data?: unknown }).data);
      if (!handler.isAckHandledManually && typeof ack === 'function')
        (ack as (value: unknown) => void)(response);
    };
    Promise.resolve(handler.callback(data, ack)).then(
      (result: unknown) =>
        isObservable(result)
          ? result.subscribe({ next: reply, error: () => undefined })
          : reply(result),
      // Failures are answered by the gateway's exception filter before they get here.
      () => undefined,
    );
  }

  /** WS_RATE_LIMIT_PER_SEC per socket: refused (with a notice), then disconnected on a flood. */
  private admit(socket: Socket, ack: unknown): boolean {
    const bound = socket as Bound;
    bound[LIMITER] ??= new SocketRateLimiter(this.config.realtime.rateLimitPerSec, this.now);
    const decision = bound[LIMITER].admit();
    if (decision.ok) return true;
    this.metrics.refusedOne('rate_limited');
    if (typeof ack === 'function')
      (ack as (result: Ack) => void)({ status: 'error', ...decision.error });
    if (decision.notify) sendDirect(socket, 'error', envelope('error', decision.error));
    if (decision.disconnect) {
      this.metrics.refusedOne('flood_disconnect');
      socket.disconnect(true);
    }
    return false;
  }
}
