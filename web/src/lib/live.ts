import { io, type Socket } from 'socket.io-client';
import type { Credential } from './auth';

export type LiveState =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'live' }
  | { readonly kind: 'reconnecting'; readonly attempt: number }
  | { readonly kind: 'offline'; readonly reason: string }
  | { readonly kind: 'refused'; readonly reason: string };

export interface LiveHandlers {
  state(state: LiveState): void;
  /** Every server event (Socket.IO event name and its envelope). */
  message(
    name: string,
    envelope: { type: string; data: unknown; event_id?: number; timestamp: number },
  ): void;
}

/**
 * The page's Socket.IO connection: the credential and, on every (re)connect, the id of the newest
 * event held — the server replays what came after it, so a reconnect leaves no gap (the event
 * store drops any repeat).
 */
export function connectLive(
  credential: () => Credential | null,
  lastEventId: () => number,
  handlers: LiveHandlers,
): Socket {
  const socket = io({
    path: '/socket.io',
    transports: ['websocket'],
    reconnectionDelayMax: 5000,
    auth: (cb) => {
      const c = credential();
      const last = lastEventId();
      cb({
        ...(c?.kind === 'token' ? { token: c.value } : {}),
        ...(c?.kind === 'api_key' ? { api_key: c.value } : {}),
        ...(last > 0 ? { last_event_id: last } : {}),
      });
    },
  });
  handlers.state({ kind: 'connecting' });
  socket.on('connect', () => handlers.state({ kind: 'live' }));
  socket.io.on('reconnect_attempt', (attempt) => handlers.state({ kind: 'reconnecting', attempt }));
  socket.on('disconnect', (reason) => {
    if (reason === 'io server disconnect') handlers.state({ kind: 'offline', reason });
    else handlers.state({ kind: 'reconnecting', attempt: 0 });
  });
  socket.on('connect_error', (error) => {
    if (/unauthori[sz]ed|forbidden/i.test(error.message))
      handlers.state({ kind: 'refused', reason: error.message });
    else if (!socket.active) handlers.state({ kind: 'offline', reason: error.message });
  });
  socket.onAny((name: string, envelope) => handlers.message(name, envelope));
  return socket;
}
