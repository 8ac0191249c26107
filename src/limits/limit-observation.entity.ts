import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../database/epoch-ms.transformer';

/** Claude Code's official windows (status line `rate_limits`), and a limit actually hit. Codex's
 * windows are the same lengths (its `primary`, 300 minutes, and `secondary`, 10,080). */
export const LIMIT_WINDOWS = ['five_hour', 'seven_day'] as const;
/** The agents whose official limits are known: Claude Code's from its status line, Codex's from
 * its rollouts (docs/agents.md). */
export const LIMIT_AGENTS = ['claude', 'codex'] as const;
export type LimitAgent = (typeof LIMIT_AGENTS)[number];
export type LimitWindow = (typeof LIMIT_WINDOWS)[number];
export type ObservationKind = LimitWindow | 'reached';

/**
 * What Claude Code said of its official limits: one row per change of a window's
 * `used_percentage` or `resets_at` (a status line repeats the same figures every message: only
 * changes are rows; `seen_at` moves), and one per "rate limit reached" (a StopFailure hook).
 */
@Entity('limit_observations')
@Index('IDX_limit_observations_member_agent_kind', ['member', 'agent', 'kind', 'observedAt'])
export class LimitObservation {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  /** Whose Claude Code said it: a team member, or `local` (the single user). */
  @Column({ type: 'varchar', length: 64 })
  member!: string;

  /** Whose official figure: Claude Code's, or Codex's. */
  @Column({ type: 'varchar', length: 16, default: 'claude' })
  agent!: LimitAgent;

  @Column({ type: 'varchar', length: 16 })
  kind!: ObservationKind;

  /** 0–100; null for `reached`. */
  @Column({ name: 'used_percentage', type: 'double precision', nullable: true })
  usedPercentage!: number | null;

  /** When the window resets (epoch ms); null for `reached`. */
  @Column({ name: 'resets_at', type: 'bigint', transformer: epochMs, nullable: true })
  resetsAt!: number | null;

  /** First seen with these figures. */
  @Column({ name: 'observed_at', type: 'bigint', transformer: epochMs })
  observedAt!: number;

  /** Last seen with these figures (updated at most once a minute). */
  @Column({ name: 'seen_at', type: 'bigint', transformer: epochMs })
  seenAt!: number;

  @Column({ name: 'session_id', type: 'varchar', length: 128, nullable: true })
  sessionId!: string | null;
}
