import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import type { AppConfig } from '../config/app-config';

/** How long a disconnected client's session (rooms, missed packets) is kept for recovery. */
const RECOVERY_WINDOW_MS = 2 * 60 * 1000;

/**
 * Socket.IO on the gateway's HTTP server with the configured limits: origin allow-list (browsers
 * always send Origin; a missing one is a non-browser client), WS_MAX_CONNECTIONS, message size,
 * ping interval and timeout, and connection state recovery.
 */
export class RealtimeIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const { corsOrigins } = this.config.server;
    const limits = this.config.realtime;
    const created: { server?: Server } = {};
    const allowed = new Set(corsOrigins);
    const merged: Partial<ServerOptions> = {
      ...options,
      path: '/socket.io',
      serveClient: false,
      cors: { origin: [...corsOrigins], credentials: true },
      maxHttpBufferSize: limits.maxBufferBytes,
      pingInterval: limits.pingIntervalMs,
      pingTimeout: limits.pingTimeoutMs,
      connectionStateRecovery: {
        maxDisconnectionDuration: RECOVERY_WINDOW_MS,
        skipMiddlewares: false,
      },
      allowRequest: (req, callback) => {
        const origin = req.headers.origin;
        if (origin && !allowed.has(origin)) return callback('origin not allowed', false);
        if ((created.server?.engine.clientsCount ?? 0) >= limits.maxConnections)
          return callback('too many connections', false);
        callback(null, true);
      },
    };
    created.server = super.createIOServer(port, merged) as Server;
    return created.server;
  }

  /**
   * One plain listener per message and socket. Nest's default builds an rxjs pipeline (fromEvent,
   * mergeMap, takeUntil) per handler per socket, which measured about a third of the heap of an
   * idle connection (bench/fanout); behaviour is the same: a returned value is the ack, or an
   * `{event, data}` reply is emitted.
   */
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message as string, (...payload: unknown[]) => {
        const { data, ack } = this.mapPayload(payload);
        transform(callback(data, ack)).subscribe({
          next: (response) => {
            if (response === undefined || response === null) return;
            const reply = response as { event?: string; data?: unknown };
            if (reply.event) return void socket.emit(reply.event, reply.data);
            if (!isAckHandledManually && typeof ack === 'function')
              (ack as (value: unknown) => void)(response);
          },
          // Failures are answered by the gateway's exception filter before they get here.
          error: () => undefined,
        });
      });
    }
  }
}
