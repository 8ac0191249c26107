import { basename } from 'node:path';
import type { FieldError } from '../common/problem-details';
import { ValidationFailedError } from '../common/app-error';
import { MAX_JSON_DEPTH, valueDepth } from '../common/json-guard';

/** A hook event ready to store: the filterable fields pulled out, the payload kept as sent. */
export interface NormalizedHookEvent {
  readonly sourceApp: string;
  readonly sessionId: string;
  readonly hookEventType: string;
  readonly toolName: string | null;
  readonly toolUseId: string | null;
  readonly agentId: string | null;
  readonly payload: Record<string, unknown>;
  readonly timestamp: number;
  /** Where `timestamp` came from (TimestampSource). */
  readonly timestampSource: TimestampSource;
  /** Domain events only: the room they go to. */
  readonly room?: string | null;
}

/**
 * Where a stored event's `timestamp` comes from: the sender's (`sender`), the time it was received
 * because the sender gave none (`received`), or the received time because the sender's was
 * outside TIMESTAMP_WINDOW (`out_of_range`; a raw hook payload still holds what was sent).
 */
export type TimestampSource = 'sender' | 'received' | 'out_of_range';
/** A sender's clock is believed from 2000-01-01 to a day ahead of ours. */
export const EARLIEST_TIMESTAMP_MS = Date.UTC(2000, 0, 1);
export const LATEST_TIMESTAMP_AHEAD_MS = 24 * 60 * 60 * 1000;

/** Deeper than this is not a hook payload; refused before it reaches the database. */
export const MAX_PAYLOAD_DEPTH = MAX_JSON_DEPTH;
const MAX_ID_LENGTH = 128;
/** Session and tool ids: what Claude Code sends (UUIDs, `toolu_…`) and similar safe tokens. */
const SAFE_ID = /^[A-Za-z0-9._:@-]+$/;
/** Event names: Claude Code's (PreToolUse, SessionStart…) and any it adds later. */
const EVENT_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const UNKNOWN_APP = 'unknown';

type Body = Record<string, unknown>;

const isObject = (value: unknown): value is Body =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function toEpochMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0)
    // Seconds (10 digits) are taken as seconds; hooks and envelopes usually send ms.
    return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  return undefined;
}

function timestampOf(
  sent: number | undefined,
  now: number,
): { timestamp: number; timestampSource: TimestampSource } {
  if (sent === undefined) return { timestamp: now, timestampSource: 'received' };
  if (sent < EARLIEST_TIMESTAMP_MS || sent > now + LATEST_TIMESTAMP_AHEAD_MS)
    return { timestamp: now, timestampSource: 'out_of_range' };
  return { timestamp: sent, timestampSource: 'sender' };
}

class Collector {
  readonly errors: FieldError[] = [];
  add(field: string, message: string): void {
    this.errors.push({ field, message });
  }

  /** A required id-like string, or undefined after recording why not. */
  id(body: Body, field: string, path = field, required = true): string | undefined {
    const value = body[field];
    if (value === undefined || value === null || value === '') {
      if (required) this.add(path, `${path} is required`);
      return undefined;
    }
    if (typeof value !== 'string') this.add(path, `${path} must be a string`);
    else if (value.length > MAX_ID_LENGTH)
      this.add(path, `${path} must be at most ${MAX_ID_LENGTH} characters`);
    else if (!SAFE_ID.test(value))
      this.add(path, `${path} may contain only letters, digits and . _ : @ -`);
    else return value;
    return undefined;
  }

  /** An optional free-text label (tool name, app name): bounded, no control characters. */
  label(value: unknown, path: string): string | null {
    if (value === undefined || value === null || value === '') return null;
    if (typeof value !== 'string') this.add(path, `${path} must be a string`);
    else if (value.length > MAX_ID_LENGTH)
      this.add(path, `${path} must be at most ${MAX_ID_LENGTH} characters`);
    else if (CONTROL.test(value)) this.add(path, `${path} must not contain control characters`);
    else return value;
    return null;
  }

  eventName(value: unknown, path: string): string | undefined {
    if (value === undefined || value === null || value === '')
      this.add(path, `${path} is required`);
    else if (typeof value !== 'string' || !EVENT_NAME.test(value))
      this.add(
        path,
        `${path} must be an event name such as PreToolUse (a letter, then up to 63 letters, digits, _ . -)`,
      );
    else return value;
    return undefined;
  }
}

function appFromCwd(cwd: unknown): string | null {
  if (typeof cwd !== 'string' || cwd === '') return null;
  const name = basename(cwd.replace(/[\\/]+$/, ''));
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, MAX_ID_LENGTH);
  return clean || null;
}

/**
 * Turns what a hook sent into a storable event, or throws one 400 listing every problem.
 * Accepts Claude Code's raw hook payload (it has `hook_event_name`) or the envelope
 * `{source_app, session_id, hook_event_type, payload, timestamp?}` (docs/design.md §4).
 * `source_app`: the envelope's, else the X-Source-App header, else the last segment of `cwd`.
 */
export function normalizeHookEvent(
  body: unknown,
  sourceAppHeader: string | undefined,
  now: number,
): NormalizedHookEvent {
  const c = new Collector();
  if (!isObject(body)) {
    c.add('body', 'the body must be a JSON object (a Claude Code hook payload or an envelope)');
    throw new ValidationFailedError(c.errors);
  }
  const envelope = body.hook_event_name === undefined && body.hook_event_type !== undefined;
  let payload: Body;
  let hookEventType: string | undefined;
  let sessionId: string | undefined;
  let sourceApp: string | null = null;
  let timestamp: number | undefined;

  if (envelope) {
    hookEventType = c.eventName(body.hook_event_type, 'hook_event_type');
    if (!isObject(body.payload)) {
      c.add('payload', 'payload must be a JSON object (the hook payload)');
      payload = {};
    } else payload = body.payload;
    sessionId =
      c.id(body, 'session_id', 'session_id', false) ??
      c.id(payload, 'session_id', 'payload.session_id', false);
    if (sessionId === undefined && !c.errors.some((e) => e.field.endsWith('session_id')))
      c.add('session_id', 'session_id is required');
    sourceApp = c.label(body.source_app, 'source_app');
    if (body.timestamp !== undefined) {
      timestamp = toEpochMs(body.timestamp);
      if (timestamp === undefined)
        c.add('timestamp', 'timestamp must be epoch milliseconds or an ISO 8601 time');
    }
  } else {
    payload = body;
    hookEventType = c.eventName(body.hook_event_name, 'hook_event_name');
    sessionId = c.id(body, 'session_id');
    timestamp = toEpochMs(body.timestamp);
  }
  if (sourceApp === null && sourceAppHeader !== undefined)
    sourceApp = c.label(sourceAppHeader, 'X-Source-App');
  sourceApp ??= appFromCwd(payload.cwd);

  const toolName = c.label(payload.tool_name, envelope ? 'payload.tool_name' : 'tool_name');
  const toolUseId =
    c.id(payload, 'tool_use_id', envelope ? 'payload.tool_use_id' : 'tool_use_id', false) ?? null;
  const agentId =
    c.id(payload, 'agent_id', envelope ? 'payload.agent_id' : 'agent_id', false) ?? null;
  if (valueDepth(payload, MAX_PAYLOAD_DEPTH) > MAX_PAYLOAD_DEPTH)
    c.add(envelope ? 'payload' : 'body', `nesting deeper than ${MAX_PAYLOAD_DEPTH} levels`);

  if (c.errors.length || !hookEventType || !sessionId) throw new ValidationFailedError(c.errors);
  return {
    sourceApp: sourceApp ?? UNKNOWN_APP,
    sessionId,
    hookEventType,
    toolName,
    toolUseId,
    agentId,
    payload,
    ...timestampOf(timestamp, now),
  };
}
