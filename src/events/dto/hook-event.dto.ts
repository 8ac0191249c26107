import { ApiHideProperty, ApiProperty } from '@nestjs/swagger';
import type { HookEvent } from '../hook-event.entity';
import type { TimestampSource } from '../hook-event.normalizer';

/** A stored hook event as the API and the sockets show it. */
export class HookEventDto {
  /** Monotonic: the cursor for `after_id` and `last_event_id`. */
  id!: number;
  source_app!: string;
  session_id!: string;
  /** Claude Code's event name (PreToolUse, PostToolUse, Stop, … or one it adds later). */
  hook_event_type!: string;
  tool_name!: string | null;
  tool_use_id!: string | null;
  agent_id!: string | null;
  /** The hook payload exactly as sent. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  payload!: Record<string, unknown>;
  /** When it happened (epoch ms). */
  timestamp!: number;
  /**
   * Where `timestamp` came from: `sender` (as sent), `received` (none sent: the time it arrived),
   * `out_of_range` (the sender's was before 2000 or more than a day ahead: the time it arrived).
   */
  @ApiProperty({ enum: ['sender', 'received', 'out_of_range'] })
  timestamp_source!: TimestampSource;
  /** When the gateway stored it (epoch ms). */
  received_at!: number;
  /** The team member that sent it (a member token); null for a single user's events. */
  member!: string | null;
  /** Domain events only (internal: they are sent as their own type, see DomainEventsService). */
  @ApiHideProperty()
  room?: string;

  static from(row: HookEvent): HookEventDto {
    return {
      id: row.id,
      source_app: row.sourceApp,
      session_id: row.sessionId,
      hook_event_type: row.hookEventType,
      tool_name: row.toolName,
      tool_use_id: row.toolUseId,
      agent_id: row.agentId,
      payload: row.payload as Record<string, unknown>,
      timestamp: row.timestamp,
      timestamp_source: row.timestampSource,
      received_at: row.receivedAt,
      member: row.member ?? null,
      ...(row.room ? { room: row.room } : {}),
    };
  }
}

export class EventCreatedDto {
  id!: number;
}

export class EventListDto {
  events!: HookEventDto[];
  count!: number;
  /** The id to pass as `after_id` for the next page (null when this page is empty). */
  next_after_id!: number | null;
}

export class EventFilterOptionsDto {
  source_apps!: string[];
  /** The most recently active first (at most 500). */
  session_ids!: string[];
  hook_event_types!: string[];
}
