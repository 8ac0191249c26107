import { Logger, UseFilters } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { ALERT_RAISED, type AlertRaisedEvent } from '../alerts/alert.events';
import { HOOK_EVENT_STORED, type HookEventStoredEvent } from '../events/hook-event.events';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { ClientCatchUp } from './client-catch-up';
import { ClientSessions, type SessionClient, type SessionError } from './client-session';
import {
  type ClientToServerEvents,
  envelope,
  type ErrorData,
  type InterServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from './realtime.protocol';
import { GLOBAL_ROOM } from './rooms';
import { sendDirect, sendDirectRaw } from './send-direct';
import type { RealtimeServer } from './socket-server.ref';
import { WsProblemFilter } from './ws-problem.filter';

type RealtimeSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/**
 * The Socket.IO side of DESIGN.md §5: handshake auth, `connection_established` and `initial`,
 * replay after `last_event_id`, room subscriptions with authorization, usage requests, ping,
 * and a per-socket rate limit. Broadcasts are the RealtimeBroadcaster's.
 */
@WebSocketGateway()
@UseFilters(WsProblemFilter)
export class RealtimeGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(RealtimeGateway.name);

  constructor(
    private readonly catchUp: ClientCatchUp,
    private readonly sessions: ClientSessions,
    private readonly emitter: EventEmitter2,
  ) {}

  afterInit(server: RealtimeServer): void {
    // Events another instance stored: announced here as remote, for /stream, replay and metrics.
    server.on('hook_event', (event) => {
      const relayed: HookEventStoredEvent = { event, remote: true };
      this.emitter.emit(HOOK_EVENT_STORED, relayed);
    });
    // Alerts another instance raised: for this instance's /stream clients.
    server.on('alert', (alert) => {
      const relayed: AlertRaisedEvent = { alert, remote: true };
      this.emitter.emit(ALERT_RAISED, relayed);
    });
    server.use((socket, next) => {
      const { auth, headers, query } = socket.handshake;
      this.sessions.open({ fields: { ...query, ...(auth ?? {}) }, headers }).then(
        ({ user, lastEventId }) => {
          socket.data.user = user;
          socket.data.lastEventId = lastEventId;
          next();
        },
        (error: SessionError) => next(new Error(`${error.error.code}: ${error.error.message}`)),
      );
    });
  }

  async handleConnection(socket: RealtimeSocket): Promise<void> {
    // The handshake (headers, auth) is copied; the upgrade request and its buffers need not live
    // as long as the connection (Socket.IO's own memory advice).
    (socket.conn as unknown as { request: unknown }).request = null;
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

  // The commands: one line each, the session does the rest (the same as on /stream).
  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() body: unknown) {
    return this.sessions.run(this.sessionOf(socket), 'subscribe', body);
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() body: unknown) {
    return this.sessions.run(this.sessionOf(socket), 'unsubscribe', body);
  }

  @SubscribeMessage('request_usage_update')
  requestUsageUpdate(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() body: unknown) {
    return this.sessions.run(this.sessionOf(socket), 'request_usage_update', body);
  }

  @SubscribeMessage('subscribe_metrics')
  subscribeMetrics(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() body: unknown) {
    return this.sessions.run(this.sessionOf(socket), 'subscribe_metrics', body);
  }

  @SubscribeMessage('unsubscribe_metrics')
  unsubscribeMetrics(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() body: unknown) {
    return this.sessions.run(this.sessionOf(socket), 'unsubscribe_metrics', body);
  }

  @SubscribeMessage('ping')
  ping(@ConnectedSocket() socket: RealtimeSocket, @MessageBody() body: unknown) {
    return this.sessions.run(this.sessionOf(socket), 'ping', body);
  }

  /** The socket as the session sees it: its own id room is Socket.IO's, not the client's. */
  private sessionOf(socket: RealtimeSocket): SessionClient {
    return {
      id: socket.id,
      user: socket.data.user,
      rooms: () => this.roomsOf(socket),
      join: (room) => void socket.join(room),
      leave: (room) => void socket.leave(room),
      send: (name, message) => sendDirectRaw(socket, name, message),
    };
  }

  private sendError(socket: RealtimeSocket, error: ErrorData): void {
    sendDirect(socket, 'error', envelope('error', error));
  }

  private roomsOf(socket: RealtimeSocket): string[] {
    return [...socket.rooms].filter((room) => room !== socket.id);
  }
}
