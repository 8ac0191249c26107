import { LIMITS_RELAYED } from '../limits/limits.events';
import { Inject, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { type OnGatewayConnection, type OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { ALERT_RAISED, type AlertRaisedEvent } from '../alerts/alert.events';
import { HOOK_EVENT_STORED, type HookEventStoredEvent } from '../events/hook-event.events';
import { AppConfig } from '../config/app-config';
import { type CatchUpClient, ClientCatchUp } from './client-catch-up';
import { CREDENTIAL_EXPIRED, CredentialExpiry, type ExpiryWatch } from './credential-expiry';
import { ReplayOverflowError } from './event-replay';
import { RealtimeMetrics } from './realtime-metrics';
import { socketIoPending, whenDrained } from './transport-drain';
import { ClientSessions, type SessionClient, type SessionError } from './client-session';
import {
  type ClientToServerEvents,
  envelope,
  type ErrorData,
  type InterServerEvents,
  type ServerToClientEvents,
  type SocketData,
} from './realtime.protocol';
import { sendDirect, sendDirectRaw } from './send-direct';
import type { RealtimeServer } from './socket-server.ref';
import { RealtimeIoAdapter } from './realtime-io.adapter';
import { DomainEvents } from '../common/domain-events';

/** What a socket's handshake keeps of its `auth` once it is read (the token is not kept). */
const NO_AUTH: Readonly<Record<string, never>> = Object.freeze({});

type RealtimeSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/**
 * The Socket.IO side of docs/design.md §5: handshake auth, `connection_established` and `initial`,
 * replay after `last_event_id`, room subscriptions with authorization, usage requests, ping,
 * and a per-socket rate limit. Broadcasts are the RealtimeBroadcaster's.
 */
@WebSocketGateway()
export class RealtimeGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(RealtimeGateway.name);
  /** At the credential's `exp` the client is told and disconnected (unless it re-authenticates). */
  private readonly expiry: ExpiryWatch<RealtimeSocket>;
  /** Where a handshake asked to resume (kept off the socket: only until it is greeted). */
  private readonly openings = new WeakMap<
    RealtimeSocket,
    { lastEventId: number | undefined; rooms: string[] }
  >();

  constructor(
    private readonly catchUp: ClientCatchUp,
    private readonly sessions: ClientSessions,
    private readonly emitter: DomainEvents,
    expiry: CredentialExpiry,
    private readonly config: AppConfig,
    adapter: RealtimeIoAdapter,
    private readonly metrics: RealtimeMetrics,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    // The commands (subscribe, unsubscribe, subscribe_metrics, unsubscribe_metrics,
    // request_usage_update, ping, authenticate): the session runs them, the same as on /stream.
    adapter.routeCommands((socket, name, body) =>
      this.sessions.run(this.sessionOf(socket as RealtimeSocket), name, body),
    );
    adapter.onClientDisconnect((socket) => this.expiry.unwatch(socket as RealtimeSocket));
    this.expiry = expiry.channel((socket) => {
      this.sendError(socket, CREDENTIAL_EXPIRED);
      socket.disconnect(true);
    });
  }

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
    // Official limit updates another instance recorded: for this instance's /stream clients.
    server.on('limits', (update) => this.emitter.emit(LIMITS_RELAYED, update));
    server.use((socket, next) => {
      const { auth, headers, query } = socket.handshake;
      this.sessions.open({ fields: { ...query, ...(auth ?? {}) }, headers }).then(
        ({ user, lastEventId, rooms }) => {
          socket.data.user = user;
          this.openings.set(socket, { lastEventId, rooms });
          // Socket.IO keeps the handshake for the connection's life: not the secret in it.
          socket.handshake.auth = NO_AUTH;
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
    // A reconnecting client names the rooms it wants back (`rooms`): it gets the ones its
    // credential grants now, and the events it missed in them from the store — never what an
    // earlier connection held (Socket.IO's own state recovery is off for that reason).
    const opening = this.openings.get(socket);
    this.openings.delete(socket);
    const { rooms, refused } = this.sessions.grant(opening?.rooms ?? [], socket.data.user);
    this.expiry.watch(socket, socket.data.user);
    const limit = this.config.realtime.maxBufferBytes;
    const client: CatchUpClient = {
      id: socket.id,
      rooms,
      send: (name: string, message: unknown) => sendDirectRaw(socket, name, message),
      joinLive: () => void socket.join(rooms),
      isGone: () => socket.disconnected,
      drained: () =>
        whenDrained(
          () => socketIoPending(socket.conn),
          limit,
          () => socket.disconnected,
          () => this.metrics.replayWaited('socket.io'),
        ),
    };
    this.catchUp.established(client, rooms, refused);
    try {
      await this.catchUp.bringUpToDate(client, opening?.lastEventId);
    } catch (error) {
      this.logger.warn(
        `bringing socket ${socket.id} up to date failed: ${(error as Error).message}`,
      );
      this.sendError(socket, {
        code: 'unavailable',
        message:
          error instanceof ReplayOverflowError
            ? 'too many events arrived while catching up; reconnect with your last_event_id'
            : 'could not load the stored events; reconnect to retry',
      });
      socket.disconnect(true);
    }
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
      setUser: (user) => {
        socket.data.user = user;
        this.expiry.watch(socket, user);
      },
    };
  }

  private sendError(socket: RealtimeSocket, error: ErrorData): void {
    sendDirect(socket, 'error', envelope('error', error, this.now()));
  }

  private roomsOf(socket: RealtimeSocket): string[] {
    return [...socket.rooms].filter((room) => room !== socket.id);
  }
}
