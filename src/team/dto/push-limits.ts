import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** bridge/push-limits.json: what a push may carry (the push client reads the same file). */
export interface PushLimits {
  readonly max_entries_per_push: number;
  readonly max_tokens_per_entry: number;
  readonly max_cost_usd: number;
  readonly min_entry_ts: number;
  readonly max_ahead_ms: number;
  readonly max_earlier_offsets: number;
  readonly text_fields: Readonly<Record<PushTextField, number>>;
}

export type PushTextField =
  | 'model'
  | 'session_id'
  | 'project_path'
  | 'project'
  | 'claude_session'
  | 'message_id'
  | 'request_id'
  | 'file'
  | 'event_key';

export const PUSH_LIMITS_FILE = join(__dirname, '..', '..', '..', 'bridge', 'push-limits.json');

export const PUSH_LIMITS: PushLimits = JSON.parse(
  readFileSync(PUSH_LIMITS_FILE, 'utf8'),
) as PushLimits;
