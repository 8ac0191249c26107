/** How often a backed-up transport is looked at again. */
const POLL_MS = 20;

/**
 * Resolves once `pending()` is at most `limit` bytes (or `gone()`): at once when it already is —
 * the common case, so a replay pays one resolved promise per event — else by polling (`onWait`
 * is told). Used for back-pressure during a replay on both transports.
 */
export function whenDrained(
  pending: () => number,
  limit: number,
  gone: () => boolean,
  onWait: () => void = () => undefined,
): Promise<void> {
  if (gone() || pending() <= limit) return Promise.resolve();
  onWait();
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!gone() && pending() > limit) return;
      clearInterval(timer);
      resolve();
    }, POLL_MS);
  });
}

/** What engine.io keeps for one connection (not in its public types). */
interface EngineConnection {
  readonly readyState: string;
  readonly writeBuffer?: ReadonlyArray<{ readonly data?: unknown }>;
  readonly transport?: { readonly socket?: { readonly bufferedAmount?: number } };
}

/**
 * Bytes a Socket.IO connection has not yet handed to the network: what its WebSocket buffers,
 * plus the packets engine.io still holds (while a write is under way, or until a long-polling
 * client polls again).
 */
export function socketIoPending(conn: unknown): number {
  const engine = conn as EngineConnection;
  if (engine.readyState !== 'open') return 0;
  let held = 0;
  for (const packet of engine.writeBuffer ?? [])
    held += typeof packet.data === 'string' ? packet.data.length : 64;
  return (engine.transport?.socket?.bufferedAmount ?? 0) + held;
}
