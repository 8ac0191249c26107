import { Injectable, Logger } from '@nestjs/common';
import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import { Counter, Registry } from 'prom-client';
import { AppConfig } from '../config/app-config';
import type { AlertDto } from './dto/alert.dto';

const ATTEMPTS = 4;
const ATTEMPT_TIMEOUT_MS = 5000;

/**
 * POSTs alerts to ALERT_WEBHOOK_URLS, in the background: each URL retried with exponential backoff
 * (cockatiel), then counted as dropped. Nothing on a request path waits for a receiver.
 */
@Injectable()
export class AlertWebhooks {
  private readonly logger = new Logger(AlertWebhooks.name);
  private readonly deliveries: Counter<'outcome'>;
  private readonly policy = retry(handleAll, {
    maxAttempts: ATTEMPTS - 1,
    backoff: new ExponentialBackoff({ initialDelay: 500, maxDelay: 10_000 }),
  });
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly config: AppConfig,
    registry: Registry,
  ) {
    this.deliveries = new Counter({
      name: 'alert_webhook_deliveries_total',
      help: 'Alert webhook deliveries by outcome (sent, dropped after retries)',
      labelNames: ['outcome'],
      registers: [registry],
    });
  }

  /** Starts sending to every URL; returns at once. */
  send(alert: AlertDto): void {
    for (const url of this.config.alerts.webhookUrls) {
      const delivery = this.deliver(url, alert).finally(() => this.pending.delete(delivery));
      this.pending.add(delivery);
    }
  }

  /** Resolves once every delivery under way has ended (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private async deliver(url: string, alert: AlertDto): Promise<void> {
    const body = JSON.stringify(alert);
    try {
      await this.policy.execute(async () => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'usage-gateway' },
          body,
          // A redirect is a failed delivery, never followed: the URL is a secret, and a receiver
          // must not be able to send the alert (or us) somewhere else.
          redirect: 'error',
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        });
        // Drain the body so the connection is reused or closed.
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) throw new Error(`answered ${res.status}`);
      });
      this.deliveries.inc({ outcome: 'sent' });
    } catch (error) {
      this.deliveries.inc({ outcome: 'dropped' });
      this.logger.warn(
        `alert ${alert.key} not delivered to ${new URL(url).host} after ${ATTEMPTS} attempts: ${(error as Error).message}`,
      );
    }
  }
}
