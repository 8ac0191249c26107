import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../database/epoch-ms.transformer';
import type { TimestampSource } from './hook-event.normalizer';

/**
 * A Claude Code hook event, normalized for filtering while the whole payload is kept as sent.
 * The auto-increment id is the replay cursor (`after_id`, `last_event_id`), so it must be monotonic.
 */
@Entity('hook_events')
@Index('IDX_hook_events_session', ['sessionId', 'id'])
@Index('IDX_hook_events_source_app', ['sourceApp', 'id'])
@Index('IDX_hook_events_type', ['hookEventType', 'id'])
@Index('IDX_hook_events_tool_use', ['toolUseId'])
@Index('IDX_hook_events_room', ['room', 'id'])
@Index('IDX_hook_events_idempotency', ['idempotencyKey'], { unique: true })
@Index('IDX_hook_events_received_at', ['receivedAt'])
@Index('IDX_hook_events_member', ['member', 'id'])
export class HookEvent {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'source_app', type: 'varchar', length: 128 })
  sourceApp!: string;

  @Column({ name: 'session_id', type: 'varchar', length: 128 })
  sessionId!: string;

  @Column({ name: 'hook_event_type', type: 'varchar', length: 64 })
  hookEventType!: string;

  @Column({ name: 'tool_name', type: 'varchar', length: 128, nullable: true })
  toolName!: string | null;

  @Column({ name: 'tool_use_id', type: 'varchar', length: 128, nullable: true })
  toolUseId!: string | null;

  @Column({ name: 'agent_id', type: 'varchar', length: 128, nullable: true })
  agentId!: string | null;

  @Column({ type: 'simple-json' })
  payload!: unknown;

  /** When the event happened (the sender's clock), epoch ms. */
  @Column({ type: 'bigint', transformer: epochMs })
  timestamp!: number;

  /** Where `timestamp` came from: the sender, or the received time (none sent, or absurd). */
  @Column({ name: 'timestamp_source', type: 'varchar', length: 16, default: 'sender' })
  timestampSource!: TimestampSource;

  /** Domain events only: the room it was broadcast to (hook events have none). */
  @Column({ type: 'varchar', length: 200, nullable: true })
  room!: string | null;

  /** The sender's `Idempotency-Key`: a resend with it finds this row instead of a new one. */
  @Column({ name: 'idempotency_key', type: 'varchar', length: 128, nullable: true })
  idempotencyKey!: string | null;

  /** The team member whose credential sent it (docs/design.md §9); null for a single user's events. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  member!: string | null;

  /** When the gateway stored it, epoch ms. */
  @Column({ name: 'received_at', type: 'bigint', transformer: epochMs })
  receivedAt!: number;
}
