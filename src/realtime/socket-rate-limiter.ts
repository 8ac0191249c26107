import type { Clock } from '../common/clock';
import type { ErrorData } from './realtime.protocol';

export type RateVerdict = 'ok' | 'limited' | 'disconnect';

/** What to do with one client message, the same on both transports. */
export type RateDecision =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** The `error` to send the client (and the nack's content). */
      readonly error: ErrorData;
      /** Send it now (at most once a second, and always before a disconnect). */
      readonly notify: boolean;
      readonly disconnect: boolean;
    };

/**
 * A token bucket per socket: `ratePerSec` messages a second on average, bursts of up to
 * `ratePerSec`. A socket that keeps sending while limited (more than `ratePerSec × 2` refused
 * messages within 10 s) is to be disconnected.
 */
export class SocketRateLimiter {
  private tokens: number;
  private last: number;
  private refused = 0;
  private windowStart: number;
  private lastNotice = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ratePerSec: number,
    private readonly now: Clock,
  ) {
    this.tokens = ratePerSec;
    this.last = now();
    this.windowStart = this.last;
  }

  take(): RateVerdict {
    const now = this.now();
    this.tokens = Math.min(
      this.ratePerSec,
      this.tokens + ((now - this.last) / 1000) * this.ratePerSec,
    );
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'ok';
    }
    if (now - this.windowStart > 10_000) {
      this.windowStart = now;
      this.refused = 0;
    }
    this.refused += 1;
    return this.refused > this.ratePerSec * 2 ? 'disconnect' : 'limited';
  }

  /** Whether to tell the client it is limited now (at most once a second). */
  noticeDue(): boolean {
    const now = this.now();
    if (now - this.lastNotice < 1000) return false;
    this.lastNotice = now;
    return true;
  }

  /** `take()`, turned into what the transport does: pass, refuse (maybe with a notice), or cut. */
  admit(): RateDecision {
    const verdict = this.take();
    if (verdict === 'ok') return { ok: true };
    const message = `more than ${this.ratePerSec} messages a second`;
    if (verdict === 'disconnect')
      return {
        ok: false,
        error: { code: 'rate_limited', message: `${message}; disconnected` },
        notify: true,
        disconnect: true,
      };
    return {
      ok: false,
      error: { code: 'rate_limited', message },
      notify: this.noticeDue(),
      disconnect: false,
    };
  }
}
