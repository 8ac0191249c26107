import type { ServerToClientEvents } from './realtime.protocol';

/** socket.io-parser's EVENT packet type. */
const EVENT_PACKET = 2;

interface PacketWriter {
  packet(packet: { type: number; data: unknown[] }, options: Record<string, never>): void;
}

/**
 * Sends one event to one socket without keeping a copy for connection state recovery.
 *
 * With recovery on, Socket.IO stores every emit — private ones included — for the whole recovery
 * window (2 min) so a reconnecting socket can receive it again. For the greeting, replayed events
 * and replies that is pure cost: bench/fanout showed ~0.75 KB per emit and socket kept for two
 * minutes, and a reconnect storm would keep one `initial` snapshot (up to 50 events) per client.
 * Those messages are re-sent on reconnect anyway (greeting, `last_event_id` replay), so they
 * skip the store; broadcasts still go through the adapter and stay recoverable.
 * (`Socket#packet` is what `emit` calls when recovery is off; socket.io is pinned to 4.8.3 and
 * the realtime e2e suite exercises every message sent this way.)
 */
export function sendDirect<E extends keyof ServerToClientEvents>(
  /** A Socket.IO server-side socket. */
  socket: object,
  event: E,
  message: Parameters<ServerToClientEvents[E]>[0],
): void {
  sendDirectRaw(socket, event, message);
}

/** {@link sendDirect} for an event name known only at run time (domain events in a replay). */
export function sendDirectRaw(socket: object, event: string, message: unknown): void {
  (socket as unknown as PacketWriter).packet({ type: EVENT_PACKET, data: [event, message] }, {});
}
