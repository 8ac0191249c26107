import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, Registry } from 'prom-client';
import { In, LessThanOrEqual, type Repository } from 'typeorm';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { DatabaseWrites } from '../database/database-writes';
import { PeriodicJobs } from '../cluster/periodic-jobs';
import { AlertDelivery } from './alert-delivery.entity';
import { AlertRecord } from './alert.entity';
import { toDto } from './alert.store';
import type { AlertDto } from './dto/alert.dto';
import { sha256Hex } from '../common/sha256-hex';

/** One attempt's deadline. */
const ATTEMPT_TIMEOUT_MS = 5000;
/** A delivery is held by one instance this long per attempt (then anyone may take it over). */
const CLAIM_MS = 30_000;
/** How often the outbox is looked at (besides right after an alert is stored). */
const POLL_MS = 1000;
/** Deliveries taken per look. */
const BATCH = 50;
/** Retry delays: 1 s doubling, capped at a minute (a receiver back is served within a minute). */
const RETRY_BASE_MS = 1000;
const RETRY_CAP_MS = 60_000;

export const urlHash = (url: string) => sha256Hex(url);

/**
 * One POST of an alert: JSON, `Idempotency-Key` = the alert's id (a receiver that sees it twice
 * knows it is the same alert), never following a redirect, within ATTEMPT_TIMEOUT_MS. Resolves
 * on 2xx; rejects otherwise.
 */
export async function postAlert(url: string, alert: AlertDto): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'usage-gateway',
      'idempotency-key': String(alert.id),
    },
    body: JSON.stringify(alert),
    // A redirect is a failed delivery, never followed: the URL is a secret, and a receiver
    // must not be able to send the alert (or us) somewhere else.
    redirect: 'error',
    signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
  });
  // Drain the body so the connection is reused or closed.
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`answered ${res.status}`);
}

/**
 * Alert webhooks, at least once: an outbox. Each stored alert has a delivery row per
 * ALERT_WEBHOOK_URLS entry, written in the alert's transaction; this worker POSTs the due ones,
 * retries a failure (1 s doubling to a minute) until ALERT_DELIVERY_MAX_AGE_MS, takes over what
 * a stopped instance left, and finishes its attempts in flight at shutdown. Nothing on a request
 * path waits for a receiver.
 */
@Injectable()
export class AlertWebhooks implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AlertWebhooks.name);
  private readonly outcomes: Counter<'outcome'>;
  private readonly urls: Map<string, string>;
  private readonly instance = randomUUID();
  private readonly inflight = new Map<number, Promise<void>>();
  private polling: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly config: AppConfig,
    registry: Registry,
    private readonly writes: DatabaseWrites,
    private readonly jobs: PeriodicJobs,
    @InjectRepository(AlertDelivery) private readonly deliveries: Repository<AlertDelivery>,
    @InjectRepository(AlertRecord) private readonly alerts: Repository<AlertRecord>,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.urls = new Map(config.alerts.webhookUrls.map((url) => [urlHash(url), url]));
    this.outcomes = new Counter({
      name: 'alert_webhook_deliveries_total',
      help: 'Alert webhook attempts by outcome: sent, retry (failed, tried again later), expired (older than ALERT_DELIVERY_MAX_AGE_MS), abandoned (URL no longer configured)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    const pending = new Gauge({
      name: 'alert_webhook_pending',
      help: 'Alert deliveries waiting in the outbox (all instances)',
      registers: [registry],
      collect: async () => {
        pending.set(await this.deliveries.countBy({ status: 'pending' }).catch(() => 0));
      },
    });
  }

  /** The delivery targets of a new alert (hashes of the configured URLs). */
  targets(): string[] {
    return [...this.urls.keys()];
  }

  onApplicationBootstrap(): void {
    if (this.urls.size === 0) return;
    // On every instance; what an earlier run left is taken up at once.
    this.jobs.every('alert-outbox', POLL_MS, () => this.poll(), { runAtStart: true });
  }

  /** An alert was stored: look at the outbox now. */
  send(_alert?: AlertDto): void {
    if (this.urls.size) void this.poll();
  }

  /** One look at the outbox now, and every attempt under way, ended (tests). */
  async settled(): Promise<void> {
    await this.poll();
    while (this.inflight.size) await Promise.allSettled([...this.inflight.values()]);
  }

  /** Attempts in flight are finished (each has a 5 s deadline, within the shutdown's). */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.polling;
    await Promise.allSettled([...this.inflight.values()]);
  }

  private poll(): Promise<void> {
    this.polling ??= this.pollOnce()
      .catch((error: Error) => this.logger.warn(`alert outbox not read: ${error.message}`))
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    if (this.closed || this.urls.size === 0) return;
    const now = this.now();
    const due = await this.deliveries.find({
      where: {
        status: 'pending',
        nextAttemptAt: LessThanOrEqual(now),
        claimedUntil: LessThanOrEqual(now),
      },
      order: { id: 'ASC' },
      take: BATCH,
    });
    const fresh = due.filter((d) => !this.inflight.has(d.id));
    if (fresh.length === 0) return;
    const alerts = new Map(
      (await this.alerts.findBy({ id: In([...new Set(fresh.map((d) => d.alertId))]) })).map((a) => [
        a.id,
        a,
      ]),
    );
    for (const delivery of fresh) {
      if (this.closed) return;
      // Taken by one instance at a time: the update that finds it unclaimed wins.
      const taken = await this.writes.write((manager) =>
        manager.update(
          AlertDelivery,
          { id: delivery.id, status: 'pending', claimedUntil: LessThanOrEqual(now) },
          { claimedUntil: now + CLAIM_MS },
        ),
      );
      if (!taken.affected) continue;
      const attempt = this.attempt(delivery, alerts.get(delivery.alertId)).finally(() =>
        this.inflight.delete(delivery.id),
      );
      this.inflight.set(delivery.id, attempt);
    }
  }

  private async attempt(delivery: AlertDelivery, alert: AlertRecord | undefined): Promise<void> {
    const url = this.urls.get(delivery.urlHash);
    if (!url || !alert) {
      // The URL left ALERT_WEBHOOK_URLS, or the alert was pruned: nobody to send it to.
      await this.finish(delivery, { status: 'abandoned', claimedUntil: 0 });
      this.outcomes.inc({ outcome: 'abandoned' });
      return;
    }
    try {
      await postAlert(url, toDto(alert));
      await this.finish(delivery, { status: 'sent', sentAt: this.now(), claimedUntil: 0 });
      this.outcomes.inc({ outcome: 'sent' });
    } catch (error) {
      const attempts = delivery.attempts + 1;
      const message = (error as Error).message.slice(0, 200);
      const now = this.now();
      if (now - delivery.createdAt >= this.config.alerts.deliveryMaxAgeMs) {
        await this.finish(delivery, { status: 'expired', attempts, lastError: message });
        this.outcomes.inc({ outcome: 'expired' });
        this.logger.warn(
          `alert ${alert.key} not delivered to ${new URL(url).host} after ${attempts} attempts over ${Math.round((now - delivery.createdAt) / 1000)} s: ${message}`,
        );
        return;
      }
      const delay = Math.min(RETRY_BASE_MS * 2 ** (attempts - 1), RETRY_CAP_MS);
      await this.finish(delivery, {
        attempts,
        lastError: message,
        nextAttemptAt: now + delay,
        claimedUntil: 0,
      });
      this.outcomes.inc({ outcome: 'retry' });
    }
  }

  private async finish(delivery: AlertDelivery, change: Partial<AlertDelivery>): Promise<void> {
    await this.writes
      .write((manager) => manager.update(AlertDelivery, { id: delivery.id }, change))
      .catch((error: Error) =>
        // Not recorded: the claim runs out and the delivery is tried again (at least once).
        this.logger.warn(`alert delivery ${delivery.id} not recorded: ${error.message}`),
      );
  }
}
