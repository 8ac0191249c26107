import type { IncomingMessage } from 'node:http';

/**
 * Whether a browser may open a socket: no Origin (not a browser), the gateway's own origin (the
 * dashboard it serves: the Origin's host is the Host the request came to), or one of CORS_ORIGINS.
 */
export function originAllowed(req: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (!origin || allowed.has(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
