import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../../database/epoch-ms.transformer';
import type { Agent } from '../../usage/agents';
import { UsageSums } from './usage-counts';

/**
 * The ledger's sums per quarter hour × member × machine × model × project, kept in the same
 * transaction as the entries. Reports read these, never the entries: a quarter hour lies within
 * one local day in every time zone in use (all UTC offsets and DST changes fall on quarter
 * hours), so any zone's days are exact sums of quarters.
 */
@Entity('usage_rollups')
export class UsageRollup {
  /** ts / 900,000 */
  @PrimaryColumn({ type: 'bigint', transformer: epochMs })
  quarter!: number;

  /** Whose usage: claude, codex, gemini, opencode, amp (docs/agents.md). */
  @PrimaryColumn({ type: 'varchar', length: 16, default: 'claude' })
  agent!: Agent;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  member!: string;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  machine!: string;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  model!: string;

  @PrimaryColumn({ type: 'varchar', length: 255 })
  project!: string;

  @Column(() => UsageSums, { prefix: false })
  sums!: UsageSums;
}

/** The ledger's sums per session (project path + Claude Code's session id) × member × machine × model. */
@Entity('usage_session_rollups')
export class UsageSessionRollup {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  member!: string;

  /** Whose usage: claude, codex, gemini, opencode, amp (docs/agents.md). */
  @PrimaryColumn({ type: 'varchar', length: 16, default: 'claude' })
  agent!: Agent;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  machine!: string;

  @PrimaryColumn({ name: 'project_path', type: 'varchar', length: 512 })
  projectPath!: string;

  @PrimaryColumn({ name: 'session_id', type: 'varchar', length: 255 })
  sessionId!: string;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  model!: string;

  @Column({ type: 'varchar', length: 255 })
  project!: string;

  @Column(() => UsageSums, { prefix: false })
  sums!: UsageSums;

  /** The session's first entry of this model (epoch ms): its first activity is the earliest. */
  @Column({ name: 'first_ts', type: 'bigint', default: 0, transformer: epochMs })
  firstTs!: number;

  /** The session's latest entry of this model (epoch ms): its last activity is the latest of these. */
  @Column({ name: 'last_ts', type: 'bigint', transformer: epochMs })
  lastTs!: number;
}

/** Shards of the team's roll-up: concurrent writers of different members rarely share a row. */
export const TEAM_ROLLUP_SHARDS = 16;

/**
 * The whole team's sums per quarter hour and model: the unfiltered team report reads these (a
 * few thousand rows a day whatever the number of members). Every request of the team lands in
 * the current quarter's rows, so they are split in shards by member: one row per quarter and
 * model would make every ingesting transaction wait for the one before.
 */
@Entity('usage_team_rollups')
export class UsageTeamRollup {
  @PrimaryColumn({ type: 'bigint', transformer: epochMs })
  quarter!: number;

  /** Whose usage: claude, codex, gemini, opencode, amp (docs/agents.md). */
  @PrimaryColumn({ type: 'varchar', length: 16, default: 'claude' })
  agent!: Agent;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  model!: string;

  /** A hash of the member, 0 … TEAM_ROLLUP_SHARDS − 1. */
  @PrimaryColumn({ type: 'smallint' })
  shard!: number;

  @Column(() => UsageSums, { prefix: false })
  sums!: UsageSums;
}

/**
 * The ledger's sums per quarter hour × member × model (a member's machines and projects added
 * up): the team summary, budgets, a member's own figures and reports by member read these — a
 * few rows per member and working quarter hour, where the full roll-up has one per machine and
 * project as well.
 */
@Entity('usage_member_rollups')
@Index('IDX_usage_member_rollups_member', ['member', 'quarter'])
export class UsageMemberRollup {
  @PrimaryColumn({ type: 'bigint', transformer: epochMs })
  quarter!: number;

  /** Whose usage: claude, codex, gemini, opencode, amp (docs/agents.md). */
  @PrimaryColumn({ type: 'varchar', length: 16, default: 'claude' })
  agent!: Agent;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  member!: string;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  model!: string;

  @Column(() => UsageSums, { prefix: false })
  sums!: UsageSums;
}

/**
 * The member roll-up's sums per UTC day (ts / 86,400,000) × member × model: reports by member
 * over days and weeks read a row per member, model and day here, and the member roll-up's quarter
 * hours only where a zone's local day leaves the UTC day (docs/team.md "Reports by member").
 */
@Entity('usage_member_days')
@Index('IDX_usage_member_days_member', ['member', 'day'])
export class UsageMemberDay {
  /** ts / 86,400,000 */
  @PrimaryColumn({ type: 'bigint', transformer: epochMs })
  day!: number;

  /** Whose usage: claude, codex, gemini, opencode, amp (docs/agents.md). */
  @PrimaryColumn({ type: 'varchar', length: 16, default: 'claude' })
  agent!: Agent;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  member!: string;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  model!: string;

  @Column(() => UsageSums, { prefix: false })
  sums!: UsageSums;
}

/**
 * Each member's latest request per machine: its last activity and the machines it used lately,
 * without scanning the ledger or the roll-ups.
 */
@Entity('usage_machine_activity')
export class UsageMachineActivity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  member!: string;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  machine!: string;

  @Column({ name: 'last_ts', type: 'bigint', transformer: epochMs })
  lastTs!: number;
}

/** A member's shard of the team roll-up (FNV-1a of its name). */
export function teamShard(member: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < member.length; i++) h = Math.imul(h ^ member.charCodeAt(i), 0x01000193);
  return (h >>> 0) % TEAM_ROLLUP_SHARDS;
}
