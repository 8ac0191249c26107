import { createHash } from 'node:crypto';
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** What an upstream received: headers and body bytes exactly as they arrived. */
export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** How a local model API answers one request; `id` is derived from the body's bytes (equal
 * requests get equal answers). */
export type Answer = (req: IncomingMessage, res: ServerResponse, body: Buffer, id: string) => void;

/** `text/event-stream` headers, with the API's request id header. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};

/**
 * A local HTTP server standing for a model API: every request is kept for the test to inspect,
 * answers the upstream saw closed before they ended are counted (a cancelled request), and
 * `x-test-delay-ms` delays an answer (requests overlap).
 */
export async function startRecordingUpstream(answer: Answer) {
  const received: Received[] = [];
  let cancelled = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const id = createHash('sha256').update(body).digest('hex').slice(0, 16);
      res.on('close', () => {
        if (!res.writableFinished) cancelled++;
      });
      const delay = Number(req.headers['x-test-delay-ms'] ?? 0);
      if (delay > 0) setTimeout(() => answer(req, res, body, id), delay);
      else answer(req, res, body, id);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    cancelled: () => cancelled,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
