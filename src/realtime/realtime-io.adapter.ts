import { Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type Redis from 'ioredis';
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

const LIMITER = Symbol('rate limiter');

/** What the adapter keeps on each socket (made only once it sends a message). */
type Bound = Socket & { [LIMITER]?: SocketRateLimiter };

/** A client command's route: resolves with the ack (never rejects). */
export type CommandRoute = (socket: Socket, name: string, body: unknown) => Promise<Ack>;

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
  private redis: Redis | undefined;
  private route: CommandRoute | undefined;
  private readonly disconnectHooks: Array<(socket: Socket) => void> = [];

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
      if (this.now() - lastLog < 10_000) return;
      lastLog = this.now();
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
   * Where client commands go (the gateway sets it): the socket, the command's name and its body;
   * resolves with the ack. One function for every socket.
   */
  routeCommands(route: CommandRoute): void {
    this.route = route;
  }

  /** Called once for every socket that disconnects (the gateway stops watching its credential). */
  onClientDisconnect(hook: (socket: Socket) => void): void {
    this.disconnectHooks.push(hook);
  }

  /**
   * An idle connection's heap is what bench/fanout weighs against bare socket.io, so nothing here
   * is per socket: Nest hands every socket its own bound copy of each message handler (a bound
   * function and an object per command, ~1 KB per connection) and its own disconnect closure.
   * Instead every socket gets the same two listeners: one `onAny` for its commands (rate limit,
   * then the route), one for `disconnect`. Nest's per-socket handlers and callback are dropped.
   */
  override bindClientDisconnect(client: Socket): void {
    client.on('disconnect', this.disconnectListener);
  }

  override bindMessageHandlers(socket: Socket): void {
    socket.onAny(this.commandListener);
  }

  private readonly disconnectListener = (() => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const adapter = this;
    // Socket.IO calls listeners with the socket as `this`.
    return function (this: Socket) {
      for (const hook of adapter.disconnectHooks) hook(this);
    };
  })();

  private readonly commandListener = (() => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const adapter = this;
    return function (this: Socket, name: string, ...payload: unknown[]) {
      adapter.dispatch(this, name, payload);
    };
  })();

  private dispatch(socket: Socket, name: string, payload: unknown[]): void {
    const last = payload.at(-1);
    const ack = typeof last === 'function' ? (last as (value: unknown) => void) : undefined;
    const data = ack ? payload.slice(0, -1)[0] : payload[0];
    // Every message counts against the rate limit, a name nobody handles too.
    if (!this.admit(socket, ack)) return;
    if (!this.route) return;
    this.route(socket, name, data).then(
      (result) => ack?.(result),
      // The route answers its own failures; this is the last net, never an unhandled rejection.
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
    if (decision.notify) sendDirect(socket, 'error', envelope('error', decision.error, this.now()));
    if (decision.disconnect) {
      this.metrics.refusedOne('flood_disconnect');
      socket.disconnect(true);
    }
    return false;
  }
}
