import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

const IDLE_SOCKET_MS = 30_000;

export interface TransportRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
}

export interface TransportResponse<T> {
  readonly status: number;
  readonly data: T;
}

/** Raised for anything that kept an answer from arriving (refused, reset, timed out, aborted). */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * JSON over HTTP to the bridge on keep-alive connections, straight on node:http. A general
 * client (axios) cost half the throughput of plain http.get here (see bench/bridge-client), and
 * this edge needs none of its features.
 */
@Injectable()
export class BridgeTransport implements OnModuleDestroy {
  // Nagle off: a request goes out in one segment without waiting for the previous ACK.
  // An idle keep-alive socket is closed by us after 30 s, before the bridge closes it at 60 s
  // (its --request-timeout): a request never goes out on a socket the other end just dropped.
  private readonly http = new HttpAgent({
    keepAlive: true,
    maxSockets: 64,
    noDelay: true,
    timeout: IDLE_SOCKET_MS,
  });
  private readonly https = new HttpsAgent({
    keepAlive: true,
    maxSockets: 64,
    noDelay: true,
    timeout: IDLE_SOCKET_MS,
  });

  onModuleDestroy(): void {
    this.http.destroy();
    this.https.destroy();
  }

  request<T>(req: TransportRequest): Promise<TransportResponse<T>> {
    return new Promise((resolve, reject) => {
      const url = new URL(req.url);
      const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
      const secure = url.protocol === 'https:';
      const outgoing = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: req.method,
          agent: secure ? this.https : this.http,
          signal: req.signal,
          timeout: req.timeoutMs,
          headers: {
            accept: 'application/json',
            ...(payload
              ? { 'content-type': 'application/json', 'content-length': payload.length }
              : {}),
          },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              res.destroy(new TransportError('response too large', 'ERESPONSETOOLARGE'));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (error) => reject(this.wrap(error)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let data: unknown = null;
            if (text) {
              try {
                data = JSON.parse(text);
              } catch {
                reject(new TransportError('the bridge answered with malformed JSON', 'EBADJSON'));
                return;
              }
            }
            resolve({ status: res.statusCode ?? 0, data: data as T });
          });
        },
      );
      outgoing.on('timeout', () =>
        outgoing.destroy(new TransportError(`no answer within ${req.timeoutMs} ms`, 'ETIMEDOUT')),
      );
      outgoing.on('error', (error) => reject(this.wrap(error)));
      outgoing.end(payload);
    });
  }

  private wrap(error: Error): TransportError {
    if (error instanceof TransportError) return error;
    const code =
      error.name === 'AbortError'
        ? 'ABORTED'
        : ((error as NodeJS.ErrnoException).code ?? 'UNKNOWN');
    return new TransportError(error.message, code);
  }
}
