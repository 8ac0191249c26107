import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../database/epoch-ms.transformer';

export type DeliveryStatus = 'pending' | 'sent' | 'expired' | 'abandoned';

/**
 * One alert to one webhook URL: the outbox. Written in the same transaction as the alert, so
 * an alert that is stored will be delivered — across retries, receiver outages and restarts —
 * until it is acknowledged (2xx) or ALERT_DELIVERY_MAX_AGE_MS has passed.
 */
@Entity('alert_deliveries')
@Index('IDX_alert_deliveries_due', ['status', 'nextAttemptAt'])
export class AlertDelivery {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'alert_id', type: 'integer' })
  alertId!: number;

  /**
   * SHA-256 of the URL (the URL itself is a secret and stays in the configuration): after a
   * restart, a delivery whose URL is no longer configured is abandoned.
   */
  @Column({ name: 'url_hash', type: 'varchar', length: 64 })
  urlHash!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: DeliveryStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'next_attempt_at', type: 'bigint', transformer: epochMs })
  nextAttemptAt!: number;

  /** Until when one instance works on it (another takes it over after, e.g. after a crash). */
  @Column({ name: 'claimed_until', type: 'bigint', transformer: epochMs, default: 0 })
  claimedUntil!: number;

  @Column({ name: 'last_error', type: 'varchar', length: 200, nullable: true })
  lastError!: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: number;

  @Column({ name: 'sent_at', type: 'bigint', transformer: epochMs, nullable: true })
  sentAt!: number | null;
}
