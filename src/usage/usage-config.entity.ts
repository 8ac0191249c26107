import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from '../database/epoch-ms.transformer';

/**
 * The usage configuration (docs/design.md §6 UsageConfig). The database is its source of truth; one
 * row, id 1. `pendingPush` marks a change the bridge has not acknowledged yet.
 */
@Entity('usage_config')
export class UsageConfigRecord {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: 16 })
  plan!: string;

  @Column({ name: 'custom_limit_tokens', type: 'integer', nullable: true })
  customLimitTokens!: number | null;

  @Column({ type: 'varchar', length: 64 })
  timezone!: string;

  @Column({ name: 'reset_hour', type: 'integer', nullable: true })
  resetHour!: number | null;

  @Column({ type: 'varchar', length: 16 })
  theme!: string;

  @Column({ name: 'pending_push', type: 'boolean' })
  pendingPush!: boolean;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: number;
}
