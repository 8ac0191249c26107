import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  fullJitterGenerator,
  handleWhen,
  type IPolicy,
  IsolatedCircuitError,
  retry,
  timeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig, type BridgeConfig } from '../config/app-config';
import type { FieldError } from '../common/problem-details';
import { BridgeHealthProbe } from './bridge-health.probe';
import { BridgeMetrics } from './bridge-metrics';
import { BridgeRequestError, BridgeUnavailableError } from './bridge-call.error';
import {
  BRIDGE_STATUS_EVENT,
  type BridgeStatusEvent,
  type CircuitStateName,
} from './bridge-status.event';
import { BridgeStatusPublisher } from './bridge-status.publisher';
import { BridgeSupervisor } from './bridge-supervisor';
import { BridgeTransport, type TransportError, type TransportResponse } from './bridge-transport';
import { OnDomainEvent } from '../common/domain-events';

/**
 * The request is cancelled through the signal when time runs out; not when it has already
 * returned (cockatiel aborts on return by default: a DOMException built per call, for nothing).
 */
const COOPERATIVE = { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false } as const;
const BREAKER_THRESHOLD = 5;
const BREAKER_HALF_OPEN_AFTER_MS = 10_000;
const BACKOFF_INITIAL_MS = 100;
const BACKOFF_MAX_MS = 1000;
/** How often the poller looks at health and at an open breaker. */
const POLL_MS = 1000;

export type UpstreamName = 'primary' | 'fallback';
export type QueryParams = Readonly<Record<string, string | number | boolean | undefined>>;

export interface BridgeResponse<T> {
  readonly data: T;
  readonly upstream: UpstreamName;
}

export interface UpstreamStatus {
  readonly name: UpstreamName;
  readonly url: string | null;
  readonly circuit: CircuitStateName;
  readonly failures: number;
  readonly openedAt: string | null;
}

const CIRCUIT_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/** One upstream (the primary bridge or the optional fallback) with its own breaker. */
class Upstream {
  readonly breaker: CircuitBreakerPolicy;
  /** Breaker, then the per-attempt timeout: one attempt. */
  readonly attempt: IPolicy;
  failures = 0;
  openedAt: number | null = null;

  constructor(
    readonly name: UpstreamName,
    readonly baseUrl: () => string | undefined,
    bridge: BridgeConfig,
    now: Clock,
  ) {
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof BridgeUnavailableError && error.transient),
      {
        halfOpenAfter: BREAKER_HALF_OPEN_AFTER_MS,
        breaker: new ConsecutiveBreaker(BREAKER_THRESHOLD),
      },
    );
    this.breaker.onFailure(({ handled }) => handled && this.failures++);
    this.breaker.onSuccess(() => (this.failures = 0));
    this.breaker.onBreak(() => (this.openedAt = now()));
    this.breaker.onReset(() => (this.openedAt = null));
    this.attempt = wrap(this.breaker, timeout(bridge.timeoutMs, COOPERATIVE));
  }

  get circuit(): CircuitStateName {
    return CIRCUIT_NAMES[this.breaker.state];
  }

  status(): UpstreamStatus {
    return {
      name: this.name,
      url: this.baseUrl() ?? null,
      circuit: this.circuit,
      failures: this.failures,
      openedAt: this.openedAt === null ? null : new Date(this.openedAt).toISOString(),
    };
  }
}

function toFieldErrors(body: unknown): FieldError[] {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e): e is { field: unknown; message: unknown } => typeof e === 'object' && e !== null)
    .map((e) => ({
      field: String(e.field).slice(0, 100),
      message: String(e.message).slice(0, 300),
    }));
}

/**
 * HTTP client of the usage bridge: per-attempt timeout, retries with exponential backoff and full
 * jitter (GET only; network errors, timeouts, 5xx), one overall deadline, a circuit breaker per
 * upstream with an optional fallback upstream, and coalescing of identical concurrent GETs.
 */
@Injectable()
export class BridgeClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(BridgeClient.name);
  private readonly bridge: BridgeConfig;
  private readonly upstreams: Upstream[];
  private readonly retryPolicy: IPolicy;
  private readonly deadlineMs: number;
  private readonly inflight = new Map<string, Promise<BridgeResponse<unknown>>>();
  private health:
    { healthy: boolean; at: number; reason: string | null; pid: number | null } | undefined;
  private healthProbe: Promise<boolean> | undefined;
  private poller: NodeJS.Timeout | undefined;
  /** The bridge process last seen ready (a new one resets the breaker). */
  private readyPid: number | null = null;

  constructor(
    config: AppConfig,
    private readonly transport: BridgeTransport,
    private readonly supervisor: BridgeSupervisor,
    private readonly status: BridgeStatusPublisher,
    private readonly metrics: BridgeMetrics,
    private readonly probes: BridgeHealthProbe,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.bridge = config.bridge;
    const primaryUrl = () =>
      this.bridge.mode === 'spawn' ? this.supervisor.baseUrl : this.bridge.url;
    this.upstreams = [new Upstream('primary', primaryUrl, this.bridge, now)];
    if (this.bridge.fallbackUrl) {
      const url = this.bridge.fallbackUrl;
      this.upstreams.push(new Upstream('fallback', () => url, this.bridge, now));
    }
    for (const upstream of this.upstreams) {
      this.metrics.setCircuit(upstream.name, 'closed');
      upstream.breaker.onStateChange((state) => {
        const circuit = CIRCUIT_NAMES[state];
        this.logger.warn(`bridge circuit (${upstream.name}) is now ${circuit}`);
        this.metrics.setCircuit(upstream.name, circuit);
        if (upstream.name === 'primary') this.status.update({ circuit });
      });
    }
    this.retryPolicy = retry(
      handleWhen((error) => error instanceof BridgeUnavailableError && error.transient),
      {
        maxAttempts: this.bridge.retries,
        backoff: new ExponentialBackoff({
          generator: fullJitterGenerator,
          initialDelay: BACKOFF_INITIAL_MS,
          maxDelay: BACKOFF_MAX_MS,
        }),
      },
    );
    // A caller never waits longer than every attempt timing out plus the longest backoffs.
    this.deadlineMs =
      this.bridge.timeoutMs * (this.bridge.retries + 1) + BACKOFF_MAX_MS * this.bridge.retries;
  }

  /** The longest a call can take, retries and backoff included. */
  get deadline(): number {
    return this.deadlineMs;
  }

  onModuleInit(): void {
    if (!this.bridge.enabled) return;
    this.poller = setInterval(() => void this.tick(), POLL_MS);
    this.poller.unref();
  }

  /**
   * Keeps a fresh health verdict so transitions (down, back up) are published without a caller
   * asking, and tests an open primary breaker once it may half-open: with no reader about, the
   * circuit would otherwise report `open` long after the bridge is back.
   */
  private async tick(): Promise<void> {
    const primary = this.upstreams[0];
    if (
      primary.circuit === 'open' &&
      primary.openedAt !== null &&
      this.now() - primary.openedAt >= BREAKER_HALF_OPEN_AFTER_MS
    ) {
      await primary.attempt
        .execute(({ signal }) => this.send(primary, 'GET', '/health', undefined, signal))
        .catch(() => undefined);
    }
    if (!this.health || this.now() - this.health.at >= Math.max(POLL_MS, this.bridge.healthCacheMs))
      await this.isHealthy(true);
  }

  onModuleDestroy(): void {
    clearInterval(this.poller);
  }

  /**
   * A freshly started bridge owes nothing to its predecessor's failures: close the breaker. Only a
   * new process counts: the breaker's own changes are published as status events too, and one of
   * them must not undo the breaker opening on the bridge that is still hung.
   */
  @OnDomainEvent(BRIDGE_STATUS_EVENT)
  onBridgeStatus(event: BridgeStatusEvent): void {
    if (event.state !== 'ready' || !this.supervisor.supervises) return;
    const { pid } = this.supervisor.getStatus();
    if (pid === this.readyPid) return;
    this.readyPid = pid;
    const primary = this.upstreams[0];
    if (primary.circuit !== 'closed') primary.breaker.isolate().dispose();
  }

  upstreamStatus(): UpstreamStatus[] {
    return this.upstreams.map((u) => u.status());
  }

  /** A GET: retried, deadline-bound, breaker-guarded; identical concurrent calls share one request. */
  get<T>(route: string, params: QueryParams = {}): Promise<BridgeResponse<T>> {
    const query = Object.entries(params)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const path = query ? `${route}?${query}` : route;
    const shared = this.inflight.get(path);
    if (shared) return shared as Promise<BridgeResponse<T>>;
    const call = this.call<T>('GET', route, path, undefined).finally(() =>
      this.inflight.delete(path),
    );
    this.inflight.set(path, call);
    return call;
  }

  /** A POST: never retried (not idempotent), still breaker-guarded and timed out. */
  post<T>(route: string, body: unknown): Promise<BridgeResponse<T>> {
    return this.call<T>('POST', route, route, body);
  }

  private async call<T>(
    method: 'GET' | 'POST',
    route: string,
    path: string,
    body: unknown,
  ): Promise<BridgeResponse<T>> {
    const started = performance.now();
    let outcome = 'success';
    try {
      if (!this.bridge.enabled) throw new BridgeUnavailableError('disabled');
      let lastError: unknown;
      for (const upstream of this.upstreams) {
        try {
          const data = await this.through<T>(upstream, method, path, body);
          return { data, upstream: upstream.name };
        } catch (error) {
          lastError = error;
          // Only an open primary breaker hands over to the fallback upstream.
          if (!(error instanceof BridgeUnavailableError && error.reason === 'circuit_open'))
            throw error;
        }
      }
      throw lastError;
    } catch (error) {
      outcome =
        error instanceof BridgeRequestError
          ? 'client_error'
          : error instanceof BridgeUnavailableError
            ? error.reason
            : 'failure';
      throw error;
    } finally {
      this.metrics.observeCall(route, outcome, (performance.now() - started) / 1000);
    }
  }

  private async through<T>(
    upstream: Upstream,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
  ): Promise<T> {
    const attempt = (signal: AbortSignal) =>
      upstream.attempt.execute(
        ({ signal: attemptSignal }) => this.send<T>(upstream, method, path, body, attemptSignal),
        signal,
      );
    const policy =
      method === 'GET'
        ? wrap(timeout(this.deadlineMs, COOPERATIVE), this.retryPolicy)
        : timeout(this.deadlineMs, COOPERATIVE);
    try {
      return await policy.execute(({ signal }) => attempt(signal));
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
        throw new BridgeUnavailableError('circuit_open');
      }
      throw error;
    }
  }

  private async send<T>(
    upstream: Upstream,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<T> {
    const base = upstream.baseUrl();
    if (!base) throw new BridgeUnavailableError('not_ready');
    let response: TransportResponse<T>;
    try {
      response = await this.transport.request<T>({
        method,
        url: base + path,
        body,
        signal,
        timeoutMs: this.bridge.timeoutMs,
      });
    } catch (error) {
      const code = (error as TransportError).code;
      if (signal.aborted || code === 'ETIMEDOUT' || code === 'ABORTED') {
        throw new BridgeUnavailableError('timeout', error);
      }
      throw new BridgeUnavailableError(code === 'EBADJSON' ? 'upstream_error' : 'network', error);
    }
    if (response.status >= 500) throw new BridgeUnavailableError('upstream_error');
    if (response.status >= 400) {
      const message = (response.data as { error?: unknown } | null)?.error;
      throw new BridgeRequestError(
        response.status,
        typeof message === 'string'
          ? message.slice(0, 500)
          : `the usage bridge answered ${response.status}`,
        toFieldErrors(response.data),
      );
    }
    return response.data;
  }

  /** Health verdict of the primary upstream, reused for BRIDGE_HEALTH_CACHE_MS unless `fresh`. */
  async isHealthy(fresh = false): Promise<boolean> {
    if (!this.bridge.enabled) return false;
    // A spawned bridge that is not ready is not healthy; a new process invalidates the verdict.
    const { state, pid } = this.supervisor.getStatus();
    if (this.supervisor.supervises && state !== 'ready') {
      this.health = undefined; // nothing to reuse once it is ready
      this.status.update({ healthy: false, reason: `bridge ${state}` });
      return false;
    }
    if (
      !fresh &&
      this.health &&
      this.health.pid === pid &&
      this.now() - this.health.at < this.bridge.healthCacheMs
    ) {
      return this.health.healthy;
    }
    this.healthProbe ??= this.probe().finally(() => (this.healthProbe = undefined));
    return this.healthProbe;
  }

  lastHealth(): { healthy: boolean; at: string; reason: string | null } | null {
    return this.health
      ? {
          healthy: this.health.healthy,
          at: new Date(this.health.at).toISOString(),
          reason: this.health.reason,
        }
      : null;
  }

  private async probe(): Promise<boolean> {
    const base = this.upstreams[0].baseUrl();
    const { healthy, reason } = base
      ? await this.probes.check(base)
      : { healthy: false, reason: 'not started' };
    this.remember(healthy, reason, this.supervisor.getStatus().pid);
    return healthy;
  }

  private remember(healthy: boolean, reason: string | null, pid: number | null): void {
    this.health = { healthy, at: this.now(), reason, pid };
    this.status.update({ healthy, reason });
  }
}
