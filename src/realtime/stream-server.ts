import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { Authenticator, firstString } from '../auth/authenticator';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { type CatchUpClient, ClientCatchUp } from './client-catch-up';
import { CREDENTIAL_EXPIRED, CredentialExpiry, type ExpiryWatch } from './credential-expiry';
import { ReplayOverflowError } from './event-replay';
import { whenDrained } from './transport-drain';
import { ClientSessions, type SessionClient, type SessionError } from './client-session';
import { RealtimeMetrics } from './realtime-metrics';
import { checkMessage } from '../common/json-guard';
import { envelope, type ErrorData, type SocketData } from './realtime.protocol';
import { SocketRateLimiter } from './socket-rate-limiter';
import { originAllowed } from './origin';
import { HostAllowList } from '../common/host-allow-list';
import { SocketServerRef } from './socket-server.ref';

export const STREAM_PATH = '/stream';
const AUTH_WAIT_MS = 5000;

interface StreamClient {
  readonly id: string;
  readonly ws: WebSocket;
  readonly rooms: Set<string>;
  readonly limiter: SocketRateLimiter;
  user?: SocketData['user'];
  /** The rooms its handshake asked for (`?rooms=a,b`), granted at the greeting. */
  wanted: string[];
  ready: boolean;
  alive: boolean;
}

/**
 * `/stream`: the same server events as the Socket.IO gateway as plain WebSocket JSON text frames
 * `{type, data, timestamp}`, for clients without Socket.IO (websocat, Python `websockets`, a
 * Grafana panel). Same auth (`?token=` or a first `{type: 'auth', token}` message), origin check,
 * connection limit and rate limit. Commands are `{type: <command>, id?, ...body}` frames run by
 * the same ClientSessions as Socket.IO's; each is answered by an `ack` frame carrying Socket.IO's
 * acknowledgement (`{status, ..., type, id}`). The RealtimeBroadcaster feeds it.
 */
@Injectable()
export class StreamServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StreamServer.name);
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<StreamClient>();
  private readonly rooms = new Map<string, Set<StreamClient>>();
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly allowedOrigins: ReadonlySet<string>;
  private readonly hosts: HostAllowList;
  /** At the credential's `exp` the client is told and closed (unless it re-authenticates). */
  private readonly expiry: ExpiryWatch<StreamClient>;

  constructor(
    private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly ref: SocketServerRef,
    private readonly authenticator: Authenticator,
    private readonly catchUp: ClientCatchUp,
    private readonly sessions: ClientSessions,
    private readonly metrics: RealtimeMetrics,
    expiry: CredentialExpiry,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.expiry = expiry.channel((client) => {
      this.sendError(client, CREDENTIAL_EXPIRED);
      client.ws.close(4401, 'unauthorized: expired');
    });
    this.allowedOrigins = new Set(config.server.corsOrigins);
    this.hosts = HostAllowList.forServer(config.server);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.realtime.maxBufferBytes,
      perMessageDeflate: false,
    });
  }

  get connections(): number {
    return this.clients.size;
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as import('node:http').Server;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    this.keepAlive = setInterval(() => this.ping(), this.config.realtime.pingIntervalMs);
    this.keepAlive.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.keepAlive);
    for (const client of this.clients) client.ws.close(1001, 'server shutting down');
    this.wss.close();
  }

  /** Sends one server event to every /stream client in any of `rooms` (serialized once). */
  publish(rooms: readonly string[], message: object): void {
    let text: string | undefined;
    const sent = new Set<StreamClient>();
    for (const room of rooms) {
      for (const client of this.rooms.get(room) ?? []) {
        if (sent.has(client) || !client.ready) continue;
        sent.add(client);
        text ??= JSON.stringify(message);
        this.sendText(client, text);
      }
    }
  }

  /** Whether any /stream client is in `room`. */
  hasMembers(room: string): boolean {
    return (this.rooms.get(room)?.size ?? 0) > 0;
  }

  /** Rooms with /stream members (for the metrics tick). */
  roomsWithMembers(): string[] {
    return [...this.rooms].filter(([, members]) => members.size > 0).map(([room]) => room);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refuse = (status: number, text: string) => {
      this.metrics.refusedOne(text);
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== STREAM_PATH) {
      // Socket.IO answers its own path; any other upgrade is nobody's.
      if (!url.pathname.startsWith('/socket.io')) refuse(404, 'not found');
      return;
    }
    if (!this.hosts.allows(req.headers.host)) return refuse(403, 'host not allowed');
    if (!originAllowed(req, this.allowedOrigins)) return refuse(403, 'origin not allowed');
    const total = (this.ref.server?.engine.clientsCount ?? 0) + this.clients.size;
    if (total >= this.config.realtime.maxConnections) return refuse(503, 'too many connections');
    // Without a credential in the URL or headers, the first frame may carry one ({type: 'auth'}).
    const fields = Object.fromEntries(url.searchParams);
    this.sessions.open({ fields, headers: req.headers }, { credentialLater: true }).then(
      ({ user, lastEventId, rooms }) =>
        this.wss.handleUpgrade(req, socket, head, (ws) =>
          this.onConnection(ws, user, lastEventId, rooms),
        ),
      ({ error }: SessionError) =>
        refuse(error.code === 'unauthorized' ? 401 : 400, `${error.code}: ${error.message}`),
    );
  }

  private onConnection(
    ws: WebSocket,
    user: SocketData['user'],
    lastEventId: number | undefined,
    wanted: string[],
  ): void {
    const client: StreamClient = {
      id: randomUUID(),
      ws,
      rooms: new Set(),
      limiter: new SocketRateLimiter(this.config.realtime.rateLimitPerSec, this.now),
      user,
      wanted,
      ready: false,
      alive: true,
    };
    this.clients.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('close', () => this.drop(client));
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: RawData, isBinary: boolean) =>
      this.onMessage(client, data, isBinary, lastEventId).catch((error: unknown) => {
        // Commands answer their own failures; this is the last net, never an unhandled rejection.
        this.logger.error(error instanceof Error ? error.stack : String(error));
        this.sendError(client, { code: 'internal', message: 'the message could not be handled' });
      }),
    );
    if (this.authenticator.required && !user) {
      const timer = setTimeout(() => {
        if (!client.user) ws.close(4401, 'unauthorized: missing');
      }, AUTH_WAIT_MS);
      timer.unref();
      return;
    }
    void this.greet(client, lastEventId);
  }

  private async greet(client: StreamClient, lastEventId: number | undefined): Promise<void> {
    const { rooms, refused } = this.sessions.grant(client.wanted, client.user);
    this.expiry.watch(client, client.user);
    const limit = this.config.realtime.maxBufferBytes;
    const gone = () => client.ws.readyState !== WebSocket.OPEN;
    const target: CatchUpClient = {
      id: client.id,
      rooms,
      send: (_name: string, message: object) => this.send(client, message),
      joinLive: () => {
        client.ready = true;
        for (const room of rooms) this.join(client, room);
      },
      isGone: gone,
      drained: () =>
        whenDrained(
          () => client.ws.bufferedAmount,
          limit,
          gone,
          () => this.metrics.replayWaited('stream'),
        ),
    };
    this.catchUp.established(target, rooms, refused);
    try {
      await this.catchUp.bringUpToDate(target, lastEventId);
    } catch (error) {
      this.logger.warn(`bringing a /stream client up to date failed: ${(error as Error).message}`);
      client.ws.close(
        1011,
        error instanceof ReplayOverflowError
          ? 'too many events while catching up; reconnect with last_event_id'
          : 'could not load the stored events',
      );
    }
  }

  private async onMessage(
    client: StreamClient,
    data: RawData,
    isBinary: boolean,
    lastEventId: number | undefined,
  ): Promise<void> {
    const decision = client.limiter.admit();
    if (!decision.ok) {
      this.metrics.refusedOne('rate_limited');
      if (decision.notify) this.sendError(client, decision.error);
      if (decision.disconnect) {
        this.metrics.refusedOne('flood_disconnect');
        client.ws.close(4429, 'rate limited');
      }
      return;
    }
    let message: { type?: unknown; id?: unknown; token?: unknown; api_key?: unknown } & Record<
      string,
      unknown
    >;
    try {
      if (isBinary) throw new Error('binary');
      message = JSON.parse(data.toString()) as typeof message;
      if (typeof message !== 'object' || message === null || Array.isArray(message))
        throw new Error('shape');
    } catch {
      return this.sendError(client, {
        code: 'bad_request',
        message: 'send JSON text frames {type, ...}',
      });
    }
    if (this.authenticator.required && !client.user) {
      if (message.type !== 'auth')
        return void client.ws.close(
          4401,
          'unauthorized: authenticate first ({type: "auth", token} or {type: "auth", api_key})',
        );
      try {
        client.user = await this.sessions.authenticate({
          token: firstString(message.token),
          apiKey: firstString(message.api_key),
        });
      } catch (error) {
        return void client.ws.close(4401, `unauthorized: ${(error as SessionError).error.message}`);
      }
      return void this.greet(client, lastEventId);
    }
    // The frame's fields are the command's body; `id` (any JSON value) is echoed in the ack.
    // `auth` on an open connection re-authenticates in place (Socket.IO's `authenticate`).
    const { type, id, ...body } = message;
    const command = type === 'auth' ? 'authenticate' : String(type);
    // The id is echoed, never stored, but passes the same guard as the body (an echo of a
    // prototype key is refused like one in the body); a refused id is not echoed.
    const idProblems = id === undefined ? [] : checkMessage({ id });
    if (idProblems.length) {
      const refusal: ErrorData = {
        code: 'bad_request',
        message: idProblems[0].message,
        errors: idProblems,
      };
      this.sendError(client, refusal);
      return this.send(client, envelope('ack', { status: 'error', ...refusal, type }, this.now()));
    }
    const ack = await this.sessions.run(this.sessionOf(client), command, body);
    this.send(
      client,
      envelope('ack', { ...ack, type, ...(id === undefined ? {} : { id }) }, this.now()),
    );
  }

  /** The /stream client as the session sees it. */
  private sessionOf(client: StreamClient): SessionClient {
    return {
      id: client.id,
      user: client.user,
      rooms: () => [...client.rooms],
      join: (room) => this.join(client, room),
      leave: (room) => this.leave(client, room),
      send: (_name, message) => this.send(client, message),
      setUser: (user) => {
        client.user = user;
        this.expiry.watch(client, user);
      },
    };
  }

  private join(client: StreamClient, room: string): void {
    client.rooms.add(room);
    let members = this.rooms.get(room);
    if (!members) this.rooms.set(room, (members = new Set()));
    members.add(client);
  }

  private leave(client: StreamClient, room: string): void {
    client.rooms.delete(room);
    const members = this.rooms.get(room);
    members?.delete(client);
    if (members?.size === 0) this.rooms.delete(room);
  }

  private drop(client: StreamClient): void {
    this.expiry.unwatch(client);
    for (const room of [...client.rooms]) this.leave(client, room);
    this.clients.delete(client);
  }

  private ping(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }

  private send(client: StreamClient, message: object): void {
    this.sendText(client, JSON.stringify(message));
  }

  private sendText(client: StreamClient, text: string): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    // A client that cannot keep up is cut off rather than buffered without bound.
    if (client.ws.bufferedAmount > this.config.realtime.maxBufferBytes * 4) {
      client.ws.terminate();
      return;
    }
    client.ws.send(text);
  }

  private sendError(client: StreamClient, error: ErrorData): void {
    this.send(client, envelope('error', error, this.now()));
  }
}
