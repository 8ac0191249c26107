import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { AppConfig, type BridgeConfig } from '../config/app-config';
import { BridgeMetrics } from './bridge-metrics';
import { BridgePreflight } from './bridge-preflight';
import {
  type BridgeErrorInfo,
  type BridgeErrorType,
  BridgeProcessError,
  classifyStderr,
  publicBridgeMessage,
  troubleshootingFor,
} from './bridge-process.error';
import type { SupervisorState } from './bridge-status.event';
import { BridgeStatusPublisher } from './bridge-status.publisher';
import { LineRingBuffer } from './line-ring-buffer';

const STDERR_LINES = 50;
const HEALTH_BACKOFF_FACTOR = 1.2;
const HEALTH_BACKOFF_CAP_MS = 2000;
const HEALTH_PROBE_TIMEOUT_MS = 2000;

/** Timings that are constants in production and shortened in tests. */
export interface SupervisorTimings {
  /** Pause between pre-flight attempts (three attempts in all). */
  readonly preflightRetryDelayMs: number;
  /** A restarted bridge that stays healthy this long resets the restart counter. */
  readonly stableAfterMs: number;
}
export const SUPERVISOR_TIMINGS = Symbol('SUPERVISOR_TIMINGS');
const DEFAULT_TIMINGS: SupervisorTimings = { preflightRetryDelayMs: 1000, stableAfterMs: 60_000 };

export interface SupervisorStatus {
  readonly state: SupervisorState;
  readonly pid: number | null;
  readonly port: number | null;
  readonly isReady: boolean;
  readonly isRestarting: boolean;
  readonly restartAttempts: number;
  readonly lastError: BridgeErrorInfo | null;
  readonly uptime: number | null;
  readonly lastHealthCheck: string | null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One GET /health: resolves with the status code, rejects with the network error. */
function probeHealth(port: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/health', method: 'GET', timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Runs the Python bridge as a child process (BRIDGE_MODE=spawn): pre-flight checks, start with a
 * health wait, typed errors with troubleshooting, restarts with exponential delay, and a stop
 * that never leaves a bridge behind (the bridge also watches our pid: `--parent-pid`).
 */
@Injectable()
export class BridgeSupervisor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BridgeSupervisor.name);
  private readonly bridge: BridgeConfig;
  private readonly timings: SupervisorTimings;
  private state: SupervisorState;
  private child: ChildProcess | undefined;
  private port: number | null = null;
  private stderr = new LineRingBuffer(STDERR_LINES);
  private stderrVerdict: { type: BridgeErrorType; module?: string } | undefined;
  private lastError: BridgeErrorInfo | null = null;
  private restartAttempts = 0;
  private readyAt: number | null = null;
  private lastHealthCheck: string | null = null;
  private stopping = false;
  private stableTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    config: AppConfig,
    private readonly status: BridgeStatusPublisher,
    private readonly metrics: BridgeMetrics,
    @Optional() @Inject(SUPERVISOR_TIMINGS) timings?: SupervisorTimings,
  ) {
    this.bridge = config.bridge;
    this.timings = timings ?? DEFAULT_TIMINGS;
    this.state = !this.bridge.enabled
      ? 'disabled'
      : this.bridge.mode === 'spawn'
        ? 'idle'
        : 'external';
  }

  get supervises(): boolean {
    return this.bridge.enabled && this.bridge.mode === 'spawn';
  }

  /** Where the spawned bridge listens, once known. */
  get baseUrl(): string | undefined {
    return this.port === null ? undefined : `http://127.0.0.1:${this.port}`;
  }

  onApplicationBootstrap(): void {
    this.status.update({ state: this.state });
    // Start in the background: the gateway serves (from its fallbacks) while the bridge warms up.
    if (this.supervises) void this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  getStatus(): SupervisorStatus {
    return {
      state: this.state,
      pid: this.child?.pid ?? null,
      port: this.port,
      isReady: this.state === 'ready',
      isRestarting: this.state === 'restarting',
      restartAttempts: this.restartAttempts,
      lastError: this.lastError,
      uptime: this.readyAt === null ? null : Math.round((Date.now() - this.readyAt) / 1000),
      lastHealthCheck: this.lastHealthCheck,
    };
  }

  /** Starts the bridge (no-op while a start is under way). */
  start(): Promise<void> {
    this.starting ??= this.startOnce().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private setState(state: SupervisorState, reason: string | null = null): void {
    this.state = state;
    this.status.update({ state, healthy: state === 'ready', reason });
  }

  private async startOnce(): Promise<void> {
    if (this.stopping) return;
    this.setState(this.restartAttempts > 0 ? 'restarting' : 'starting');
    try {
      const preflight = await this.preflight();
      if (this.stopping) return;
      await this.launch(preflight.python, preflight.port);
      this.lastError = null;
      this.readyAt = Date.now();
      this.setState('ready');
      this.logger.log(
        `usage bridge ready on 127.0.0.1:${this.port} (pid ${this.child?.pid}, Python ${preflight.version})`,
      );
      if (this.restartAttempts > 0) this.armStableTimer();
    } catch (error) {
      const failure =
        error instanceof BridgeProcessError
          ? error
          : new BridgeProcessError(
              'UNKNOWN_ERROR',
              (error as Error).message,
              troubleshootingFor('UNKNOWN_ERROR', this.bridge),
              this.stderr.tail(),
            );
      this.killChild('SIGKILL');
      this.recordError(failure);
      if (this.stopping) return;
      // A crash during a restart counts as that restart failing; a failed first start (or a
      // pre-flight failure) is final: restarting would fail the same way.
      if (this.restartAttempts > 0) this.scheduleRestart(failure);
      else this.setState('failed', publicBridgeMessage(failure.type));
    }
  }

  private async preflight() {
    const check = new BridgePreflight(this.bridge);
    for (let attempt = 1; ; attempt++) {
      try {
        return await check.run();
      } catch (error) {
        if (attempt >= 3 || this.stopping) throw error;
        this.logger.debug(`pre-flight attempt ${attempt} failed: ${(error as Error).message}`);
        await sleep(this.timings.preflightRetryDelayMs);
      }
    }
  }

  private launch(python: string, port: number): Promise<void> {
    this.port = port;
    this.stderr = new LineRingBuffer(STDERR_LINES);
    this.stderrVerdict = undefined;
    mkdirSync(this.bridge.stateDir, { recursive: true });
    const args = [
      this.bridge.script,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--parent-pid',
      String(process.pid),
      '--state-dir',
      this.bridge.stateDir,
    ];
    if (this.bridge.pricingFile) args.push('--pricing-file', this.bridge.pricingFile);

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: BridgeProcessError) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      let child: ChildProcess;
      try {
        child = spawn(python, args, {
          env: { ...this.bridge.childEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (error) {
        fail(this.spawnError(error as Error));
        return;
      }
      this.child = child;
      child.stdout?.setEncoding('utf8').on('data', () => undefined);
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        for (const line of this.stderr.push(chunk)) {
          this.stderrVerdict ??= classifyStderr(line);
          this.logger.debug(`bridge stderr: ${line}`);
        }
      });
      child.once('error', (error) => fail(this.spawnError(error)));
      child.once('exit', (code, signal) => {
        const current = this.child === child;
        if (current) this.child = undefined;
        if (!settled) {
          const verdict = this.stderrVerdict;
          const type = verdict?.type ?? 'PROCESS_CRASH';
          fail(
            new BridgeProcessError(
              type,
              `the bridge exited during start-up (${signal ?? `code ${code}`})`,
              troubleshootingFor(type, this.bridge, { port, module: verdict?.module }),
              this.stderr.tail(),
            ),
          );
          return;
        }
        // A child abandoned after a failed start was killed on purpose: not a crash.
        if (current) this.onUnexpectedExit(child, code, signal);
      });

      this.waitForHealth(port).then(
        () => {
          if (settled) return;
          settled = true;
          resolve();
        },
        (error: BridgeProcessError) => fail(error),
      );
    });
  }

  private spawnError(error: Error): BridgeProcessError {
    return new BridgeProcessError(
      'PROCESS_SPAWN_ERROR',
      `cannot start the bridge: ${error.message}`,
      troubleshootingFor('PROCESS_SPAWN_ERROR', this.bridge),
      this.stderr.tail(),
    );
  }

  /** GET /health with backoff (interval ×1.2, capped at 2 s) within the attempt and time budgets. */
  private async waitForHealth(port: number): Promise<void> {
    const deadline = Date.now() + this.bridge.healthTimeoutMs;
    let interval = this.bridge.healthIntervalMs;
    let lastReason = 'no attempt made';
    for (let attempt = 1; attempt <= this.bridge.healthMaxRetries; attempt++) {
      if (!this.child)
        throw new BridgeProcessError('PROCESS_CRASH', 'the bridge exited', [], this.stderr.tail());
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        const status = await probeHealth(port, Math.min(HEALTH_PROBE_TIMEOUT_MS, remaining));
        this.lastHealthCheck = new Date().toISOString();
        if (status === 200) return;
        lastReason = `HTTP ${status}`;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        lastReason = code === 'ECONNREFUSED' ? 'connection refused' : (error as Error).message;
      }
      this.logger.debug(`bridge health attempt ${attempt}: ${lastReason}`);
      const pause = Math.min(interval, deadline - Date.now());
      if (pause <= 0) break;
      await sleep(pause);
      interval = Math.min(interval * HEALTH_BACKOFF_FACTOR, HEALTH_BACKOFF_CAP_MS);
    }
    throw new BridgeProcessError(
      'HEALTH_CHECK_TIMEOUT',
      `the bridge did not answer GET /health within ${this.bridge.healthTimeoutMs} ms (last: ${lastReason})`,
      troubleshootingFor('HEALTH_CHECK_TIMEOUT', this.bridge),
      this.stderr.tail(),
    );
  }

  private onUnexpectedExit(
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (this.stopping) return;
    clearTimeout(this.stableTimer);
    this.readyAt = null;
    const verdict = this.stderrVerdict;
    const error = new BridgeProcessError(
      verdict?.type ?? 'PROCESS_CRASH',
      `the bridge (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`})`,
      troubleshootingFor(verdict?.type ?? 'PROCESS_CRASH', this.bridge, {
        module: verdict?.module,
      }),
      this.stderr.tail(),
    );
    this.recordError(error);
    this.scheduleRestart(error);
  }

  /** State reasons reach every socket client: the failure's public words, never paths or stderr. */
  private scheduleRestart(error: BridgeProcessError): void {
    const reason = publicBridgeMessage(error.type);
    if (!this.bridge.autoRestart || this.restartAttempts >= this.bridge.maxRestarts) {
      const why = this.bridge.autoRestart
        ? `gave up after ${this.restartAttempts} restart attempts: ${reason}`
        : `auto-restart is off: ${reason}`;
      this.logger.error(
        `usage bridge failed; the gateway keeps serving from its fallbacks (${why}; ${error.message})`,
      );
      this.setState('failed', why);
      return;
    }
    this.restartAttempts++;
    const delay = this.bridge.restartDelayMs * 2 ** (this.restartAttempts - 1);
    this.setState('restarting', reason);
    this.logger.warn(
      `restarting the usage bridge in ${delay} ms (attempt ${this.restartAttempts} of ${this.bridge.maxRestarts})`,
    );
    this.restartTimer = setTimeout(() => {
      this.metrics.restarted();
      void this.start();
    }, delay);
  }

  private armStableTimer(): void {
    clearTimeout(this.stableTimer);
    const child = this.child;
    this.stableTimer = setTimeout(() => {
      if (this.state === 'ready' && this.child === child) this.restartAttempts = 0;
    }, this.timings.stableAfterMs);
    this.stableTimer.unref();
  }

  private recordError(error: BridgeProcessError): void {
    this.lastError = error.toInfo();
    const tail = error.stderrTail.length
      ? `\n  stderr:\n    ${error.stderrTail.slice(-10).join('\n    ')}`
      : '';
    this.logger.error(
      `usage bridge ${error.type}: ${error.message}\n  what to do:\n    - ${error.troubleshooting.join('\n    - ')}${tail}`,
    );
  }

  /** Kills and forgets the current child (after a failed start). */
  private killChild(signal: NodeJS.Signals): void {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after BRIDGE_SHUTDOWN_TIMEOUT_MS. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.stableTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      if (this.supervises) this.setState('stopped');
      return;
    }
    this.setState('stopping');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.bridge.shutdownTimeoutMs);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
    this.setState('stopped');
  }
}
