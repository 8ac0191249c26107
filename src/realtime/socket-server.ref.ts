import { Injectable } from '@nestjs/common';
import type { Server } from 'socket.io';
import type {
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
} from './realtime.protocol';

export type RealtimeServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/** The Socket.IO server, once the gateway is initialised, for the services that broadcast. */
@Injectable()
export class SocketServerRef {
  server: RealtimeServer | undefined;
  /**
   * Whether broadcasts can reach other instances now. The Redis adapter drops a broadcast it
   * cannot publish — for this instance's own clients too — so while Redis is away broadcasts are
   * sent locally. Always true with one instance.
   */
  crossInstance: () => boolean = () => true;
  /** Several instances share broadcasts (REDIS_URL): events are also relayed to the others. */
  clustered = false;
}
