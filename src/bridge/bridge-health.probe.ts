import { Injectable } from '@nestjs/common';
import {
  ExponentialBackoff,
  type GeneratorFn,
  handleWhen,
  retry,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import { BridgeTransport, type TransportError } from './bridge-transport';

/** One probe never waits longer than this. */
export const HEALTH_PROBE_TIMEOUT_MS = 2000;
const BACKOFF_FACTOR = 1.2;
const BACKOFF_CAP_MS = 2000;

export interface HealthVerdict {
  readonly healthy: boolean;
  /** Why not (`HTTP 503`, `connection refused`, `ETIMEDOUT`); null when healthy. */
  readonly reason: string | null;
}

export interface HealthWait {
  /** The first pause; each next one ×1.2, capped at 2 s. */
  readonly intervalMs: number;
  readonly maxAttempts: number;
  /** The whole wait, probes and pauses included. */
  readonly timeoutMs: number;
  /** False once the process is gone: waiting on stops at once. */
  readonly stillRunning: () => boolean;
}

/** Not healthy in time: the last reason, and whether the process went away meanwhile. */
export class HealthWaitError extends Error {
  constructor(
    readonly lastReason: string,
    readonly exited: boolean,
  ) {
    super(exited ? 'the bridge exited' : `no healthy answer (last: ${lastReason})`);
    this.name = 'HealthWaitError';
  }
}

/** Delays of `initialDelay × exponent^n`, capped (cockatiel's own generators fix the base at 2). */
const geometric: GeneratorFn<number> = (attempt = 0, options) => [
  Math.min(options.maxDelay, options.initialDelay * options.exponent ** attempt),
  attempt + 1,
];

/**
 * `GET /health` of the usage bridge: the one probe for the supervisor (waiting for a start) and
 * the client (the periodic verdict), over the client's keep-alive transport.
 */
@Injectable()
export class BridgeHealthProbe {
  constructor(private readonly transport: BridgeTransport) {}

  /** One probe; never rejects. */
  async check(baseUrl: string, timeoutMs = HEALTH_PROBE_TIMEOUT_MS): Promise<HealthVerdict> {
    try {
      const res = await this.transport.request({
        method: 'GET',
        url: `${baseUrl}/health`,
        timeoutMs,
      });
      return res.status === 200
        ? { healthy: true, reason: null }
        : { healthy: false, reason: `HTTP ${res.status}` };
    } catch (error) {
      const code = (error as TransportError).code;
      return {
        healthy: false,
        reason: code === 'ECONNREFUSED' ? 'connection refused' : (code ?? String(error)),
      };
    }
  }

  /**
   * Probes until the bridge answers 200: cockatiel's retry with a backoff of ×1.2 per attempt
   * (capped at 2 s) inside one overall timeout. Rejects with a HealthWaitError.
   */
  async waitUntilHealthy(baseUrl: string, wait: HealthWait): Promise<void> {
    let lastReason = 'no attempt made';
    let exited = false;
    const policy = wrap(
      timeout(wait.timeoutMs, TimeoutStrategy.Aggressive),
      retry(
        handleWhen(() => !exited),
        {
          maxAttempts: Math.max(0, wait.maxAttempts - 1),
          backoff: new ExponentialBackoff({
            generator: geometric,
            initialDelay: wait.intervalMs,
            exponent: BACKOFF_FACTOR,
            maxDelay: BACKOFF_CAP_MS,
          }),
        },
      ),
    );
    // Time spent (monotonic: a wait's budget, not a time of day).
    const started = performance.now();
    try {
      await policy.execute(async () => {
        if (!wait.stillRunning()) {
          exited = true;
          throw new Error('exited');
        }
        const remaining = wait.timeoutMs - (performance.now() - started);
        const verdict = await this.check(baseUrl, Math.min(HEALTH_PROBE_TIMEOUT_MS, remaining));
        if (verdict.healthy) return;
        lastReason = verdict.reason ?? 'unhealthy';
        throw new Error(lastReason);
      });
    } catch (error) {
      if (error instanceof TaskCancelledError || error instanceof Error)
        throw new HealthWaitError(lastReason, exited || !wait.stillRunning());
      throw error;
    }
  }
}
