import type { AlertDto } from '../alerts/dto/alert.dto';
import type { BridgeStatusEvent } from '../bridge/bridge-status.event';
import type { HookEventDto } from '../events/dto/hook-event.dto';
import type { SkillMetricsSnapshot } from '../events/skill-metrics/skill-metrics.service';
import type { DataSourceName } from '../usage/usage-params';
import { GLOBAL_ROOM, memberRoom, sessionRoom, type SocketUser } from './rooms';

/** docs/design.md §5. Bumped on any incompatible change of the events below. */
export const PROTOCOL_VERSION = 1;

/** Every server event has this envelope. */
export interface ServerEnvelope<T> {
  readonly type: string;
  readonly data: T;
  /** Epoch ms. */
  readonly timestamp: number;
  readonly event_id?: number;
  readonly session_id?: string;
}

export interface ConnectionEstablishedData {
  readonly protocol_version: number;
  readonly socket_id: string;
  readonly server_time: number;
  readonly rooms: string[];
  /** Rooms the handshake asked for that the credential does not grant (left out). */
  readonly refused_rooms?: string[];
}

export interface InitialData {
  /** The last 50 stored events (empty when the client resumes with `last_event_id`). */
  readonly events: HookEventDto[];
  readonly usage: unknown;
  readonly usage_source: DataSourceName | null;
  readonly bridge: BridgeStatusData | null;
}

export interface UsageUpdateData {
  readonly data: unknown;
  readonly source: DataSourceName;
}

/** Today's usage (the daily report's row for today), sent when it changed. */
export interface UsageDailyData {
  /** YYYY-MM-DD in `timezone`, days starting at `reset_hour`. */
  readonly date: string;
  readonly timezone: string;
  readonly reset_hour: number;
  /** Today's row of the daily report, null before the first entry of the day. */
  readonly day: unknown;
  readonly source: DataSourceName;
}

export interface BridgeStatusData {
  readonly healthy: boolean;
  readonly state: BridgeStatusEvent['state'];
  readonly reason: string | null;
}

export type ErrorCode =
  'bad_request' | 'unauthorized' | 'forbidden' | 'rate_limited' | 'unavailable' | 'internal';

export interface ErrorData {
  readonly code: ErrorCode;
  readonly message: string;
  readonly errors?: Array<{ field: string; message: string }>;
}

export type Ack =
  | ({ readonly status: 'success' } & Record<string, unknown>)
  | ({ readonly status: 'error' } & ErrorData);

type Envelope<T> = (envelope: ServerEnvelope<T>) => void;

/** `limits`: Claude Code's official figure of a window changed, or a rate limit was hit. */
export interface LimitsUpdateData {
  readonly member: string;
  /** Whose official figure: Claude Code's or Codex's. */
  readonly agent: 'claude' | 'codex';
  readonly window: 'five_hour' | 'seven_day' | 'reached';
  /** Null for `reached`. */
  readonly used_percentage: number | null;
  /** ISO-8601; null for `reached`. */
  readonly resets_at: string | null;
  /** ISO-8601: when Claude Code reported it. */
  readonly at: string;
}

export interface ServerToClientEvents {
  connection_established: Envelope<ConnectionEstablishedData>;
  initial: Envelope<InitialData>;
  event: Envelope<HookEventDto>;
  usage_update: Envelope<UsageUpdateData>;
  usage_daily: Envelope<UsageDailyData>;
  alert: Envelope<AlertDto>;
  limits: Envelope<LimitsUpdateData>;
  bridge_status: Envelope<BridgeStatusData>;
  error: Envelope<ErrorData>;
  pong: Envelope<{ readonly server_time: number }>;
  metrics_update: Envelope<SkillMetricsSnapshot>;
  subscription_confirmed: Envelope<{ readonly skill: string | null }>;
}

export interface ClientToServerEvents {
  subscribe: (data: { room: string }, ack?: (result: Ack) => void) => void;
  unsubscribe: (data: { room: string }, ack?: (result: Ack) => void) => void;
  request_usage_update: (data: { session_id?: string }, ack?: (result: Ack) => void) => void;
  ping: (data: unknown, ack?: (result: Ack) => void) => void;
  authenticate: (data: { token?: string; api_key?: string }, ack?: (result: Ack) => void) => void;
  subscribe_metrics: (data: { skill?: string | null }, ack?: (result: Ack) => void) => void;
  unsubscribe_metrics: (data: unknown, ack?: (result: Ack) => void) => void;
}

/** What the gateway keeps on each socket (`socket.data`). */
export interface SocketData {
  /** The verified token's subject and grants; undefined when auth is off. */
  user?: SocketUser;
  /** The metrics room this socket is in (`metrics` or `skill:<name>`), if any. */
  metricsRoom?: string;
}

/** A server event; `at` is when it was sent (the injected clock), or a stored event's time. */
export function envelope<T>(
  type: string,
  data: T,
  at: number,
  extra: { event_id?: number; session_id?: string } = {},
): ServerEnvelope<T> {
  return { type, data, timestamp: at, ...extra };
}

/** Between gateway instances (over the Redis adapter): events stored by another instance. */
export interface InterServerEvents {
  hook_event: (event: HookEventDto) => void;
  alert: (alert: AlertDto) => void;
  limits: (update: LimitsUpdateData) => void;
}

/** The server event for a stored domain event: its type, its data, its id. */
export function domainMessage(event: HookEventDto): ServerEnvelope<Record<string, unknown>> {
  return {
    type: event.hook_event_type,
    data: event.payload,
    timestamp: event.received_at,
    event_id: event.id,
  };
}

/** How a stored event is sent live: a hook event as `event` to `global` and its session room,
 * a domain event as its own type to its room. */
export function liveMessage(event: HookEventDto): {
  name: string;
  rooms: string[];
  message: ServerEnvelope<unknown>;
} {
  if (event.room)
    return { name: event.hook_event_type, rooms: roomsOf(event), message: domainMessage(event) };
  return {
    name: 'event',
    rooms: roomsOf(event),
    message: envelope('event', event, event.received_at, {
      event_id: event.id,
      session_id: event.session_id,
    }),
  };
}

/** The rooms an event goes to: a domain event's own; a hook event's `global`, session and member. */
export function roomsOf(event: HookEventDto): string[] {
  if (event.room) return [event.room];
  const rooms = [GLOBAL_ROOM, sessionRoom(event.session_id)];
  if (event.member) rooms.push(memberRoom(event.member));
  return rooms;
}

/** Whether a client in `rooms` may see a stored event: one of the event's rooms is among them. */
export function mayReceive(event: HookEventDto, rooms: readonly string[]): boolean {
  return roomsOf(event).some((room) => rooms.includes(room));
}

/** What a replaying client gets for a stored event: the events of the rooms it is (now) granted —
 * `global` for everyone but a member token, which gets its own member's hook events only. */
export function replayMessage(
  event: HookEventDto,
  rooms: readonly string[] = [GLOBAL_ROOM],
): { name: string; message: ServerEnvelope<unknown> } | undefined {
  return mayReceive(event, rooms) ? liveMessage(event) : undefined;
}
