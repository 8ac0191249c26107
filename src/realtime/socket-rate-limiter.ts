import type { Clock } from '../common/clock';

export type RateVerdict = 'ok' | 'limited' | 'disconnect';

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
}
