import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../../database/epoch-ms.transformer';
import type { Agent } from '../../usage/agents';
import { UsageCounts } from './usage-counts';

/** How an entry reached the ledger (docs/design.md §9). */
export const ENTRY_SOURCES = ['push', 'otlp', 'local', 'proxy'] as const;
export type EntrySource = (typeof ENTRY_SOURCES)[number];

/**
 * The ledger: one row per API request, whoever sent it and however often (docs/design.md §9).
 * `entry_key` makes a request count once: a log line's `message.id` + `requestId`, or its
 * `message.id` alone (ccusage 20's rule), a line without either its machine, file and offset, an
 * OTLP `api_request` its `request_id`. Of the lines of one request the best is kept (a later,
 * better one replaces the row): the main chain's over a /btw side-chain replay (matched on
 * `message_id`), then the larger token total, then a log line over an OTLP event. The ledger keeps
 * what it was given when Claude Code deletes old transcripts.
 */
@Entity('usage_entries')
@Index('IDX_usage_entries_member_ts', ['member', 'ts'])
@Index('IDX_usage_entries_request', ['requestId'])
@Index('IDX_usage_entries_message', ['messageId'])
export class UsageEntry {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  /** SHA-256 (hex) of the request's identity (see above). */
  @Column({ name: 'entry_key', type: 'varchar', length: 64, unique: true })
  entryKey!: string;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId!: string | null;

  /** The line's `message.id` (a message without a requestId is keyed by it alone). */
  @Column({ name: 'message_id', type: 'varchar', length: 128, nullable: true })
  messageId!: string | null;

  /** A side-chain line (`isSidechain`, e.g. a /btw replay): the main chain's line of its message
   * wins over it. */
  @Column({ type: 'boolean', default: false })
  sidechain!: boolean;

  @Column({ type: 'varchar', length: 8 })
  source!: EntrySource;

  /** Whose usage: claude, codex, gemini, opencode, amp (docs/agents.md). */
  @Column({ type: 'varchar', length: 16, default: 'claude' })
  agent!: Agent;

  @Column({ type: 'varchar', length: 64 })
  member!: string;

  @Column({ type: 'varchar', length: 128 })
  machine!: string;

  /** The folder under `projects/` (ccusage's project); `unknown` for OTLP rows. */
  @Column({ type: 'varchar', length: 255 })
  project!: string;

  /** ccusage's session: the log file's folder, and the folders between `projects/` and it. */
  @Column({ name: 'session_id', type: 'varchar', length: 255 })
  sessionId!: string;

  @Column({ name: 'project_path', type: 'varchar', length: 512 })
  projectPath!: string;

  /** Claude Code's session id (the transcript's uuid, OTLP `session.id`). */
  @Column({ name: 'claude_session', type: 'varchar', length: 128, nullable: true })
  claudeSession!: string | null;

  /** As reports name it: `<model>-fast` for fast mode. */
  @Column({ type: 'varchar', length: 128 })
  model!: string;

  @Column({ type: 'bigint', transformer: epochMs })
  ts!: number;

  /** The four counts and our price table's cost (ccusage's: a line's own `costUSD` if any). */
  @Column(() => UsageCounts, { prefix: false })
  counts!: UsageCounts;

  /** Claude Code's own figure (OTLP `cost_usd`), kept beside ours. */
  @Column({ name: 'reported_cost_usd', type: 'double precision', nullable: true })
  reportedCostUsd!: number | null;

  /** OTLP attributes worth keeping (email, organization, app version, team.id, cost_center…). */
  @Column({ type: 'simple-json', nullable: true })
  attributes!: Record<string, string> | null;

  @Column({ name: 'received_at', type: 'bigint', transformer: epochMs })
  receivedAt!: number;
}
