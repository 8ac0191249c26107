import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertDto } from '../../src/alerts/dto/alert.dto';

/** A webhook receiver: records every POSTed alert and its Idempotency-Key; `answer` replies. */
export class WebhookReceiver {
  readonly alerts: AlertDto[] = [];
  /** The Idempotency-Key of each POST, in order. */
  readonly keys: string[] = [];
  private server: Server | undefined;
  answer: (res: ServerResponse) => void = (res) => res.writeHead(204).end();

  /** Listens on `port` (any free one by default); returns the URL to give ALERT_WEBHOOK_URLS. */
  async start(port = 0): Promise<string> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.alerts.push(JSON.parse(body) as AlertDto);
        this.keys.push(String(req.headers['idempotency-key']));
        this.answer(res);
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** The alerts of a type (and threshold). */
  of(type: string, threshold?: number): AlertDto[] {
    return this.alerts.filter(
      (a) => a.type === type && (threshold === undefined || a.data.threshold === threshold),
    );
  }

  /** The thresholds of the block-limit alerts received, in order. */
  thresholds(): number[] {
    return this.of('limit_threshold')
      .map((a) => a.data.threshold as number)
      .sort((a, b) => a - b);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
