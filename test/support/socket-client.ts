import { io, type Socket } from 'socket.io-client';

export interface Received {
  readonly event: string;
  readonly message: {
    type: string;
    data: unknown;
    timestamp: number;
    event_id?: number;
    session_id?: string;
  };
  readonly at: number;
}

/** A real socket.io-client that records every server event it receives. */
export interface TestSocket {
  readonly socket: Socket;
  readonly received: Received[];
  /** Event ids of the `event` messages, in arrival order. */
  eventIds(): number[];
  /** Resolves with the first message of `event` (after `from` messages of that kind). */
  next(event: string, timeoutMs?: number, from?: number): Promise<Received>;
  emitAck<T>(event: string, data?: unknown, timeoutMs?: number): Promise<T>;
  close(): void;
}

export function connectSocket(
  url: string,
  options: { auth?: Record<string, unknown>; extraHeaders?: Record<string, string> } = {},
): TestSocket {
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    auth: options.auth ?? {},
    extraHeaders: options.extraHeaders,
  });
  const received: Received[] = [];
  socket.onAny((event: string, message: Received['message']) =>
    received.push({ event, message, at: performance.now() }),
  );
  const next = (event: string, timeoutMs = 3000, from = 0) =>
    new Promise<Received>((resolve, reject) => {
      const started = Date.now();
      const poll = () => {
        const found = received.filter((r) => r.event === event)[from];
        if (found) return resolve(found);
        if (Date.now() - started > timeoutMs)
          return reject(new Error(`no ${event} #${from} within ${timeoutMs} ms`));
        setTimeout(poll, 5);
      };
      poll();
    });
  return {
    socket,
    received,
    eventIds: () =>
      received.filter((r) => r.event === 'event').map((r) => r.message.event_id as number),
    next,
    emitAck: <T>(event: string, data?: unknown, timeoutMs = 3000) =>
      socket.timeout(timeoutMs).emitWithAck(event, data) as Promise<T>,
    close: () => void socket.close(),
  };
}

/** Resolves once connected; rejects with the connect_error message. */
export function connected(client: TestSocket, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.socket.connected) return resolve();
    const timer = setTimeout(() => reject(new Error('connect timeout')), timeoutMs);
    client.socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    client.socket.once('connect_error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
