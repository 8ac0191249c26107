import { ExponentialBackoff, type IBackoff, noJitterGenerator } from 'cockatiel';
import type { BridgeConfig } from '../config/app-config';

export type RestartDecision =
  | { readonly restart: true; readonly delayMs: number; readonly attempt: number }
  | { readonly restart: false; readonly why: string };

/**
 * When to restart a bridge that exited: after `BRIDGE_RESTART_DELAY_MS × 2^(n-1)` (cockatiel's
 * exponential backoff), at most `BRIDGE_MAX_RESTARTS` times in a row. A bridge that stays healthy
 * `stableAfterMs` is not crash-looping: the next crash starts the count again.
 */
export class RestartPolicy {
  private readonly backoff: ExponentialBackoff<number>;
  private current: IBackoff<unknown> | undefined;
  private attempts = 0;
  private stableTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bridge: Pick<BridgeConfig, 'autoRestart' | 'maxRestarts' | 'restartDelayMs'>,
    private readonly stableAfterMs: number,
  ) {
    this.backoff = new ExponentialBackoff({
      generator: noJitterGenerator,
      initialDelay: bridge.restartDelayMs,
      maxDelay: Number.MAX_SAFE_INTEGER,
    });
  }

  /** Restarts made since the bridge was last stable. */
  get restarts(): number {
    return this.attempts;
  }

  /** The bridge exited (or failed to come back): restart it, after how long — or give up. */
  next(reason: string): RestartDecision {
    clearTimeout(this.stableTimer);
    if (!this.bridge.autoRestart) return { restart: false, why: `auto-restart is off: ${reason}` };
    if (this.attempts >= this.bridge.maxRestarts)
      return {
        restart: false,
        why: `gave up after ${this.attempts} restart attempts: ${reason}`,
      };
    this.attempts++;
    this.current = (this.current ?? this.backoff).next(undefined as never);
    return { restart: true, delayMs: this.current.duration, attempt: this.attempts };
  }

  /** A restarted bridge is ready: once it has stayed so (`stillSame()`), forgive the count. */
  readyAgain(stillSame: () => boolean): void {
    clearTimeout(this.stableTimer);
    if (this.attempts === 0) return;
    this.stableTimer = setTimeout(() => {
      if (stillSame()) {
        this.attempts = 0;
        this.current = undefined;
      }
    }, this.stableAfterMs);
    this.stableTimer.unref();
  }

  /** A fresh count (a failed bridge tried again later). */
  reset(): void {
    clearTimeout(this.stableTimer);
    this.attempts = 0;
    this.current = undefined;
  }

  dispose(): void {
    clearTimeout(this.stableTimer);
  }
}
