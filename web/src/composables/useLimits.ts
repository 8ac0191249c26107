import { shallowRef } from 'vue';
import type { Session } from './useSession';

/** One official window of GET /api/usage/limits (the fields the dashboard shows). */
export interface LimitWindow {
  /** Claude Code's (its status line) or Codex's (its rollouts). */
  agent: 'claude' | 'codex';
  window: 'five_hour' | 'seven_day';
  official: {
    used_percentage: number;
    resets_at: string;
    seen_at: string;
    age_seconds: number;
  } | null;
  missing: 'never_seen' | 'expired' | null;
  window_start: string | null;
  window_end: string | null;
  ours: { total_tokens: number; cost_usd: number; entries: number } | null;
  calibration: { tokens_per_percent: number; usd_per_percent: number; observations: number } | null;
  projection: {
    basis: 'burn_rate' | 'official_trend';
    percent_now: number;
    percent_per_hour: number;
    reaches_100_at: string | null;
    resets_first: boolean;
    percent_at_reset: number;
  } | null;
  history: { at: string; used_percentage: number }[];
}

export interface Limits {
  member: string;
  windows: LimitWindow[];
  last_limit_reached: { at: string; session_id: string | null } | null;
}

/**
 * The official-limits panel's data: loaded at start, again when a `limits` socket event says a
 * figure changed (at most once a second), and every minute (ages and projections move).
 */
export function useLimits({ api, guarded }: Session) {
  const limits = shallowRef<Limits | null>(null);
  let queued: number | undefined;
  const load = () =>
    guarded(async () => {
      limits.value = (await api.get<Limits>('/api/usage/limits')).data;
    });
  /** A `limits` event: one reload for a burst of them. */
  const changed = () => {
    if (queued !== undefined) return;
    queued = window.setTimeout(() => {
      queued = undefined;
      void load();
    }, 1000);
  };
  return { limits, load, changed };
}
