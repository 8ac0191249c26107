import type { BridgeConfig } from '../config/app-config';

export type RestartDecision =
  | {
      readonly restart: true;
      readonly delayMs: number;
      readonly attempt: number;
      /** More than BRIDGE_MAX_RESTARTS failures in a row: announce `failed` (and keep trying). */
      readonly crashLooping: boolean;
    }
  | { readonly restart: false; readonly why: string };

type RestartSettings = Pick<
  BridgeConfig,
  'autoRestart' | 'maxRestarts' | 'restartDelayMs' | 'maxBackoffMs' | 'stableAfterMs'
>;

/**
 * When to restart a bridge that exited, hung or failed to start — as Kubernetes treats a crash
 * loop: after `BRIDGE_RESTART_DELAY_MS × 2^(n-1)`, capped at `BRIDGE_MAX_BACKOFF_MS`, for as
 * long as it takes (never a terminal state while auto-restart is on). Past `BRIDGE_MAX_RESTARTS`
 * failures in a row the bridge is announced as failed, and still tried at the capped delay. Only
 * a bridge that stays healthy `BRIDGE_STABLE_AFTER_MS` is forgiven: the count and the delay start
 * over. (A bridge that crashes a minute after each start is a crash loop, not bad luck.)
 */
export class RestartPolicy {
  private attempts = 0;
  private stableTimer: NodeJS.Timeout | undefined;

  constructor(private readonly bridge: RestartSettings) {}

  /** Failures since the bridge was last stable. */
  get restarts(): number {
    return this.attempts;
  }

  /** The bridge failed (exit, hang, start-up): restart it after how long, or not at all. */
  next(reason: string): RestartDecision {
    clearTimeout(this.stableTimer);
    if (!this.bridge.autoRestart) return { restart: false, why: `auto-restart is off: ${reason}` };
    this.attempts++;
    const delayMs = Math.min(
      this.bridge.restartDelayMs * 2 ** (this.attempts - 1),
      this.bridge.maxBackoffMs,
    );
    return {
      restart: true,
      delayMs,
      attempt: this.attempts,
      crashLooping: this.attempts > this.bridge.maxRestarts,
    };
  }

  /** The bridge is ready: once it has stayed so (`stillSame()`) for the stable period, forgive. */
  readyAgain(stillSame: () => boolean): void {
    clearTimeout(this.stableTimer);
    if (this.attempts === 0) return;
    this.stableTimer = setTimeout(() => {
      if (stillSame()) this.attempts = 0;
    }, this.bridge.stableAfterMs);
    this.stableTimer.unref();
  }

  /** A fresh count (auto-restart off: a failed bridge tried again later). */
  reset(): void {
    clearTimeout(this.stableTimer);
    this.attempts = 0;
  }

  dispose(): void {
    clearTimeout(this.stableTimer);
  }
}
