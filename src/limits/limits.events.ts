import type { LimitAgent, LimitWindow } from './limit-observation.entity';

/** An official figure changed (a new percentage, or a new window). */
export const LIMITS_OBSERVED = 'limits.observed';
export interface LimitsObservedEvent {
  readonly member: string;
  /** Whose official figure: Claude Code's or Codex's. */
  readonly agent: LimitAgent;
  readonly window: LimitWindow;
  readonly percent: number;
  /** Epoch ms. */
  readonly resetsAt: number;
  readonly at: number;
}

/** A `limits` update another instance announced (for this instance's /stream clients). */
export const LIMITS_RELAYED = 'limits.relayed';

/** Claude Code stopped on a rate limit (StopFailure, `error: rate_limit`). */
export const LIMIT_REACHED = 'limits.reached';
export interface LimitReachedEvent {
  readonly member: string;
  readonly at: number;
  readonly sessionId: string | null;
  readonly details: string | null;
}
