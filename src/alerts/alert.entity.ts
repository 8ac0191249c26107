import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../database/epoch-ms.transformer';

export const ALERT_TYPES = [
  'limit_threshold',
  'limit_predicted',
  'skill_anomaly',
  'bridge_failed',
  'bridge_recovered',
  'official_limit',
  'official_limit_predicted',
  'limit_reached',
  'budget',
  'budget_unchecked',
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];
export type AlertSeverity = 'info' | 'warning' | 'critical';

/**
 * An alert as raised (docs/design.md §8). `key` names what it is about (e.g. threshold 80 of block
 * 2026-11-30T09:00:00.000Z) under a unique index: the instance whose insert wins sends it, so an
 * alert goes out once across instances and restarts.
 */
@Entity('alerts')
@Index('IDX_alerts_key', ['key'], { unique: true })
@Index('IDX_alerts_created_at', ['createdAt'])
export class AlertRecord {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: 200 })
  key!: string;

  @Column({ type: 'varchar', length: 32 })
  type!: AlertType;

  @Column({ type: 'varchar', length: 16 })
  severity!: AlertSeverity;

  @Column({ type: 'varchar', length: 200 })
  title!: string;

  @Column({ type: 'text' })
  text!: string;

  @Column({ type: 'simple-json' })
  data!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: number;
}
