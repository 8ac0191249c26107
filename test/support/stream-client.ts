import WebSocket from 'ws';
import { waitFor } from './wait';

export interface Frame {
  type: string;
  data: Record<string, unknown>;
  timestamp: number;
  event_id?: number;
}

export interface StreamClient {
  ws: WebSocket;
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  next(type: string, from?: number): Promise<Frame>;
  send(message: unknown): void;
}

/** A plain WebSocket client of `/stream` that records every frame. */
export function openStream(
  url: string,
  query = '',
  headers: Record<string, string> = {},
): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/stream${query}`, { headers });
    const frames: Frame[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Frame));
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        ws,
        frames,
        closed,
        send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
        next: (type, from = 0) =>
          waitFor(
            () => frames.filter((f) => f.type === type)[from],
            3000,
            `${type} frame #${from}`,
          ),
      }),
    );
  });
}
