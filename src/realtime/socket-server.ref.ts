import { Injectable } from '@nestjs/common';
import type { Server } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from './realtime.protocol';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, {}, SocketData>;

/** The Socket.IO server, once the gateway is initialised, for the services that broadcast. */
@Injectable()
export class SocketServerRef {
  server: RealtimeServer | undefined;
}
