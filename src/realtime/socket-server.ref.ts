import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
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

/**
 * The Socket.IO server for the services that broadcast. It exists only once Nest has created it
 * through the RealtimeIoAdapter, which attaches it here — the one writer, once.
 */
@Injectable()
export class SocketServerRef {
  private current: RealtimeServer | undefined;
  private adapterRedis: Redis | undefined;
  private readonly watchers: Array<{ lost: () => void; back: () => void }> = [];

  attach(server: Server, adapterRedis: Redis | undefined): void {
    if (this.current) throw new Error('the Socket.IO server is attached already');
    this.current = server as RealtimeServer;
    this.adapterRedis = adapterRedis;
    for (const watcher of this.watchers) this.subscribe(watcher);
  }

  /**
   * `lost` when the adapter's Redis connection closes, `back` when it is ready again (several
   * instances only; whether the server is attached yet or not).
   */
  watchCrossInstance(lost: () => void, back: () => void): void {
    const watcher = { lost, back };
    this.watchers.push(watcher);
    if (this.adapterRedis) this.subscribe(watcher);
  }

  private subscribe({ lost, back }: { lost: () => void; back: () => void }): void {
    this.adapterRedis?.on('close', lost);
    this.adapterRedis?.on('ready', back);
  }

  get server(): RealtimeServer | undefined {
    return this.current;
  }

  /** Several instances share broadcasts (REDIS_URL): events are also relayed to the others. */
  get clustered(): boolean {
    return this.adapterRedis !== undefined;
  }

  /**
   * Whether broadcasts can reach other instances now. The Redis adapter drops a broadcast it
   * cannot publish — for this instance's own clients too — so while Redis is away broadcasts are
   * sent locally. Always true with one instance.
   */
  crossInstance(): boolean {
    return this.adapterRedis === undefined || this.adapterRedis.status === 'ready';
  }
}
