import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../database/epoch-ms.transformer';

export const REPORT_SNAPSHOT_KINDS = [
  'report:daily',
  'report:weekly',
  'report:monthly',
  'report:sessions',
] as const;
export const SNAPSHOT_KINDS = [
  'stats',
  'sessions',
  'claude-session',
  ...REPORT_SNAPSHOT_KINDS,
] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

/** A bridge payload as it was served, kept so the API can answer while the bridge is down. */
@Entity('usage_snapshots')
@Index('IDX_usage_snapshots_lookup', ['kind', 'paramsKey', 'createdAt'])
@Index('IDX_usage_snapshots_created_at', ['createdAt'])
export class UsageSnapshot {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: 32 })
  kind!: SnapshotKind;

  /** The request parameters, normalized (sorted keys, defaults applied) so equal queries match. */
  @Column({ name: 'params_key', type: 'varchar', length: 512 })
  paramsKey!: string;

  @Column({ type: 'simple-json' })
  payload!: object;

  /** SHA-256 of the payload, to skip storing an unchanged payload twice in a row. */
  @Column({ name: 'payload_hash', type: 'varchar', length: 64 })
  payloadHash!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: number;
}
