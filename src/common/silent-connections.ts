import {
  type BeforeApplicationShutdown,
  Injectable,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * On shutdown, connections that never sent a byte are closed first. Node's server close (called
 * by Socket.IO's, then Fastify's `forceCloseConnections: 'idle'`) leaves a connection that is still
 * waiting for its first request, so a client that opened spare connections (HTTP clients keep a
 * pool) held the shutdown until the headers timeout (60 s). In-flight requests still finish.
 */
@Injectable()
export class SilentConnections implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly sockets = new Set<Socket>();

  constructor(private readonly host: HttpAdapterHost) {}

  onApplicationBootstrap(): void {
    const server = this.host.httpAdapter?.getHttpServer() as Server | undefined;
    server?.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  beforeApplicationShutdown(): void {
    for (const socket of this.sockets) if (socket.bytesRead === 0) socket.destroy();
  }
}

@Module({ providers: [SilentConnections] })
export class SilentConnectionsModule {}
