import { Logger, UseFilters, UsePipes } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
} from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import {
  Authenticator,
  bearerToken,
  CredentialRejectedError,
  firstString,
} from '../auth/authenticator';
import { AppConfig } from '../config/app-config';
import { HOOK_EVENT_STORED, type HookEventStoredEvent } from '../events/hook-event.events';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { UsageService } from '../usage/usage.service';
import { MetricsSubscriptionDto, RoomDto, UsageRequestDto } from './dto/room.dto';
import { ClientCatchUp } from './client-catch-up';
import { RealtimeMetrics } from './realtime-metrics';
import {
  type Ack,
  type ClientToServerEvents,
  envelope,
  type ErrorData,
  type InterServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from './realtime.protocol';
import { checkRoom, GLOBAL_ROOM, METRICS_ROOM, skillRoom } from './rooms';
import { sendDirect, sendDirectRaw } from './send-direct';
import { type RealtimeServer, SocketServerRef } from './socket-server.ref';
import { WsProblemFilter } from './ws-problem.filter';
import { WsValidationPipe } from './ws-validation.pipe';

type RealtimeSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/** Rooms a socket may be in at once (its own id room and `global` included). */
const MAX_ROOMS = 64;

function parseLastEventId(value: unknown): number | undefined | Error {
  if (value === undefined || value === null || value === '') return undefined;
  const id = typeof value === 'string' ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
    return new Error('bad_request: last_event_id must be a non-negative integer');
  return id;
}

/**
 * The Socket.IO side of DESIGN.md §5: handshake auth, `connection_established` and `initial`,
 * replay after `last_event_id`, room subscriptions with authorization, usage requests, ping,
 * and a per-socket rate limit. Broadcasts are the RealtimeBroadcaster's.
 */
@WebSocketGateway()
@UseFilters(WsProblemFilter)
@UsePipes(WsValidationPipe)
export class RealtimeGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(RealtimeGateway.name);

  constructor(
    private readonly config: AppConfig,
    private readonly ref: SocketServerRef,
    private readonly authenticator: Authenticator,
    private readonly usage: UsageService,
    private readonly catchUp: ClientCatchUp,
    private readonly metrics: RealtimeMetrics,
    private readonly emitter: EventEmitter2,
  ) {}

  afterInit(server: RealtimeServer): void {
    this.ref.server = server;
    // Events another instance stored: announced here as remote, for /stream, replay and metrics.
    server.on('hook_event', (event) => {
      const relayed: HookEventStoredEvent = { event, remote: true };
      this.emitter.emit(HOOK_EVENT_STORED, relayed);
    });
    server.use((socket, next) => {
      const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
      const lastEventId = parseLastEventId(auth.last_event_id);
      if (lastEventId instanceof Error) return next(lastEventId);
      socket.data.lastEventId = lastEventId;
      const { headers, query } = socket.handshake;
      this.authenticator
        .authenticate({
          token: firstString(auth.token) ?? bearerToken(headers.authorization),
          apiKey:
            firstString(auth.api_key) ??
            firstString(headers['x-api-key']) ??
            firstString(query.api_key),
        })
        .then(
          (principal) => {
            socket.data.user = principal;
            next();
          },
          (error: unknown) => {
            this.metrics.refusedOne('unauthorized');
            const reason = error instanceof CredentialRejectedError ? error.reason : 'invalid';
            next(new Error(`unauthorized: ${reason}`));
          },
        );
    });
  }

  async handleConnection(socket: RealtimeSocket): Promise<void> {
    // The handshake (headers, auth) is copied; the upgrade request and its buffers need not live
    // as long as the connection (Socket.IO's own memory advice).
    (socket.conn as unknown as { request: unknown }).request = null;
    this.metrics.connected(this.ref.server?.engine.clientsCount ?? 0);
    const client = {
      id: socket.id,
      send: (name: string, message: unknown) => sendDirectRaw(socket, name, message),
      joinLive: () => void socket.join(GLOBAL_ROOM),
      isGone: () => socket.disconnected,
    };
    if (socket.recovered) {
      // Socket.IO restored its rooms and the packets it missed: nothing to replay.
      this.catchUp.established(client, this.roomsOf(socket));
      return;
    }
    this.catchUp.established(client);
    try {
      await this.catchUp.bringUpToDate(client, socket.data.lastEventId);
    } catch (error) {
      this.logger.warn(
        `bringing socket ${socket.id} up to date failed: ${(error as Error).message}`,
      );
      this.sendError(socket, {
        code: 'unavailable',
        message: 'could not load the stored events; reconnect to retry',
      });
      socket.disconnect(true);
    }
  }

  handleDisconnect(): void {
    this.metrics.connected(this.ref.server?.engine.clientsCount ?? 0);
  }

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() body: RoomDto): Ack {
    const check = checkRoom(body.room, socket.data.user, this.authenticator.required);
    if (!check.ok) throw new WsException({ code: check.code, message: check.message });
    if (!socket.rooms.has(body.room) && socket.rooms.size >= MAX_ROOMS)
      throw new WsException({
        code: 'bad_request',
        message: `at most ${MAX_ROOMS - 1} rooms per socket`,
      });
    void socket.join(body.room);
    return { status: 'success', room: body.room, rooms: this.roomsOf(socket) };
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() body: RoomDto): Ack {
    void socket.leave(body.room);
    return { status: 'success', room: body.room, rooms: this.roomsOf(socket) };
  }

  @SubscribeMessage('request_usage_update')
  async requestUsageUpdate(
    @ConnectedSocket() socket: RealtimeSocket,
    @MessageBody() body: UsageRequestDto,
  ): Promise<Ack> {
    const { payload, source } = await this.usage.statsForPush();
    sendDirect(
      socket,
      'usage_update',
      envelope(
        'usage_update',
        { data: payload, source },
        body.session_id ? { session_id: body.session_id } : {},
      ),
    );
    this.metrics.emittedOne('usage_update');
    return { status: 'success', source, data: payload };
  }

  @SubscribeMessage('subscribe_metrics')
  subscribeMetrics(
    @ConnectedSocket() socket: RealtimeSocket,
    @MessageBody() body: MetricsSubscriptionDto,
  ): Ack {
    const skill = body.skill ?? null;
    const room = skill === null ? METRICS_ROOM : skillRoom(skill);
    if (socket.data.metricsRoom && socket.data.metricsRoom !== room)
      void socket.leave(socket.data.metricsRoom);
    socket.data.metricsRoom = room;
    void socket.join(room);
    sendDirect(socket, 'subscription_confirmed', envelope('subscription_confirmed', { skill }));
    return { status: 'success', skill };
  }

  @SubscribeMessage('unsubscribe_metrics')
  unsubscribeMetrics(@ConnectedSocket() socket: RealtimeSocket): Ack {
    if (socket.data.metricsRoom) void socket.leave(socket.data.metricsRoom);
    socket.data.metricsRoom = undefined;
    return { status: 'success' };
  }

  @SubscribeMessage('ping')
  ping(@ConnectedSocket() socket: RealtimeSocket): Ack {
    const serverTime = Date.now();
    sendDirect(socket, 'pong', envelope('pong', { server_time: serverTime }));
    return { status: 'success', server_time: serverTime };
  }

  private sendError(socket: RealtimeSocket, error: ErrorData): void {
    sendDirect(socket, 'error', envelope('error', error));
  }

  private roomsOf(socket: RealtimeSocket): string[] {
    return [...socket.rooms].filter((room) => room !== socket.id);
  }
}
