import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig, type BridgeConfig } from '../config/app-config';
import { BridgeHealthProbe, type HealthVerdict, HealthWaitError } from './bridge-health.probe';
import { BridgeMetrics } from './bridge-metrics';
import { BridgePreflight } from './bridge-preflight';
import { BridgeProcess } from './bridge-process';
import {
  type BridgeErrorInfo,
  BridgeProcessError,
  publicBridgeMessage,
  troubleshootingFor,
} from './bridge-process.error';
import type { SupervisorState } from './bridge-status.event';
import { BridgeStatusPublisher } from './bridge-status.publisher';
import { RestartPolicy } from './restart-policy';

/** Timings that are constants in production and shortened in tests. */
export interface SupervisorTimings {
  /** Pause between pre-flight attempts (three attempts in all). */
  readonly preflightRetryDelayMs: number;
}
export const SUPERVISOR_TIMINGS = Symbol('SUPERVISOR_TIMINGS');
const DEFAULT_TIMINGS: SupervisorTimings = { preflightRetryDelayMs: 1000 };

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

/**
 * Runs the Python bridge as a child process (BRIDGE_MODE=spawn): pre-flight checks (injected),
 * a start that waits for health (BridgeHealthProbe), a watch while it runs (a bridge that stops
 * answering is killed and replaced), typed errors with troubleshooting, restarts as the
 * RestartPolicy says (for as long as auto-restart is on), and a stop that never leaves a bridge
 * behind (the bridge also watches our pid: `--parent-pid`). The process itself is a BridgeProcess.
 */
@Injectable()
export class BridgeSupervisor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BridgeSupervisor.name);
  private readonly bridge: BridgeConfig;
  private readonly timings: SupervisorTimings;
  private readonly restarts: RestartPolicy;
  private state: SupervisorState;
  private process: BridgeProcess | undefined;
  private port: number | null = null;
  private lastError: BridgeErrorInfo | null = null;
  private readyAt: number | null = null;
  private lastHealthCheck: string | null = null;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    config: AppConfig,
    private readonly status: BridgeStatusPublisher,
    private readonly metrics: BridgeMetrics,
    private readonly preflightCheck: BridgePreflight,
    private readonly health: BridgeHealthProbe,
    @Inject(CLOCK) private readonly now: Clock,
    @Optional() @Inject(SUPERVISOR_TIMINGS) timings?: SupervisorTimings,
  ) {
    this.bridge = config.bridge;
    this.timings = timings ?? DEFAULT_TIMINGS;
    this.restarts = new RestartPolicy(this.bridge);
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
      pid: this.process?.pid ?? null,
      port: this.port,
      isReady: this.state === 'ready',
      isRestarting: this.state === 'restarting',
      restartAttempts: this.restarts.restarts,
      lastError: this.lastError,
      uptime: this.readyAt === null ? null : Math.round((this.now() - this.readyAt) / 1000),
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
    const restarting = this.restarts.restarts > 0;
    this.setState(restarting ? 'restarting' : 'starting');
    try {
      const preflight = await this.preflight();
      if (this.stopping) return;
      const process = await this.launch(preflight.python, preflight.port);
      this.lastError = null;
      this.readyAt = this.now();
      this.setState('ready');
      this.logger.log(
        `usage bridge ready on 127.0.0.1:${this.port} (pid ${process.pid}, Python ${preflight.version})`,
      );
      this.restarts.readyAgain(() => this.state === 'ready' && this.process === process);
      this.watch(process);
    } catch (error) {
      const failure =
        error instanceof BridgeProcessError
          ? error
          : new BridgeProcessError(
              'UNKNOWN_ERROR',
              (error as Error).message,
              troubleshootingFor('UNKNOWN_ERROR', this.bridge),
              this.process?.stderr.tail() ?? [],
            );
      this.abandon();
      this.recordError(failure);
      if (this.stopping) return;
      // A crash during a restart counts as that restart failing. A failed first start (often a
      // pre-flight failure: no Python, the port taken) is announced as failed at once, and tried
      // again with the same growing delay — the cause may go away (Python installed, the port
      // freed) and nobody should have to restart the gateway for it.
      this.scheduleRestart(failure, !restarting);
    }
  }

  /**
   * While ready, GET /health every BRIDGE_WATCH_INTERVAL_MS with that deadline. Any HTTP answer
   * counts (a bridge warming up answers 503); BRIDGE_HUNG_AFTER_CHECKS checks in a row without
   * one (back to back: hung after interval × (checks + 1) at most, 8 s by default) mean it is
   * hung — stopped, stuck in a loop, swapping: it is killed and replaced.
   */
  private watch(process: BridgeProcess): void {
    const baseUrl = this.baseUrl as string;
    let misses = 0;
    const tick = async () => {
      if (this.stopping || this.process !== process) return;
      const verdict = await this.health.check(baseUrl, this.bridge.watchIntervalMs);
      if (this.stopping || this.process !== process) return;
      this.lastHealthCheck = new Date(this.now()).toISOString();
      const answered = verdict.healthy || verdict.reason?.startsWith('HTTP ');
      misses = answered ? 0 : misses + 1;
      if (misses >= this.bridge.hungAfterChecks) return void this.replaceHung(process, verdict);
      // A check without an answer took the whole interval already: the next one starts now.
      this.watchTimer = setTimeout(() => void tick(), answered ? this.bridge.watchIntervalMs : 0);
      this.watchTimer.unref();
    };
    this.watchTimer = setTimeout(() => void tick(), this.bridge.watchIntervalMs);
    this.watchTimer.unref();
  }

  private async replaceHung(hung: BridgeProcess, last: HealthVerdict): Promise<void> {
    // Forget it first: its exit is ours, not an unexpected one.
    this.process = undefined;
    this.readyAt = null;
    const error = new BridgeProcessError(
      'PROCESS_HUNG',
      `the bridge (pid ${hung.pid}) did not answer ${this.bridge.hungAfterChecks} health checks in a row (last: ${last.reason ?? 'unknown'}); killed with SIGKILL and replaced`,
      troubleshootingFor('PROCESS_HUNG', this.bridge),
      hung.stderr.tail(),
    );
    this.setState('restarting', publicBridgeMessage('PROCESS_HUNG'));
    hung.kill('SIGKILL');
    // A fixed BRIDGE_PORT is free again only once the old process is gone.
    await hung.exited;
    if (this.stopping) return;
    this.metrics.hungKilled();
    this.recordError(error);
    this.scheduleRestart(error);
  }

  /**
   * `failed` with auto-restart off: nothing restarts it, except BRIDGE_FAILED_RETRY_MS later,
   * with a fresh count — the cause may be gone (Python installed, the port freed).
   */
  private fail(reason: string): void {
    this.setState('failed', reason);
    const after = this.bridge.failedRetryMs;
    if (!after || this.stopping) return;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopping || this.state !== 'failed') return;
      this.logger.log('trying the failed usage bridge again');
      this.restarts.reset();
      void this.start();
    }, after);
    this.restartTimer.unref();
  }

  private async preflight() {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.preflightCheck.run();
      } catch (error) {
        if (attempt >= 3 || this.stopping) throw error;
        this.logger.debug(`pre-flight attempt ${attempt} failed: ${(error as Error).message}`);
        await sleep(this.timings.preflightRetryDelayMs);
      }
    }
  }

  /** Spawns the bridge and waits until it answers GET /health; a failure is typed. */
  private async launch(python: string, port: number): Promise<BridgeProcess> {
    this.port = port;
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

    let spawned: BridgeProcess;
    try {
      spawned = BridgeProcess.spawn(python, args, this.bridge.childEnv, this.logger);
    } catch (error) {
      throw this.spawnError(error as Error, []);
    }
    this.process = spawned;
    let up = false;
    void spawned.exited.then(() => {
      // Before it was up, the start fails instead; one abandoned after that was killed on purpose.
      if (up && this.process === spawned) this.onUnexpectedExit(spawned);
    });
    try {
      await Promise.race([
        this.health.waitUntilHealthy(`http://127.0.0.1:${port}`, {
          intervalMs: this.bridge.healthIntervalMs,
          maxAttempts: this.bridge.healthMaxRetries,
          timeoutMs: this.bridge.healthTimeoutMs,
          stillRunning: () => spawned.running,
        }),
        spawned.spawnFailure,
      ]);
      this.lastHealthCheck = new Date(this.now()).toISOString();
      up = true;
      return spawned;
    } catch (error) {
      if (!(error instanceof HealthWaitError)) throw this.spawnError(error as Error, spawned);
      if (error.exited) {
        await spawned.exited;
        const verdict = spawned.stderrVerdict;
        const type = verdict?.type ?? 'PROCESS_CRASH';
        throw new BridgeProcessError(
          type,
          `the bridge exited during start-up (${spawned.exitDescription})`,
          troubleshootingFor(type, this.bridge, { port, module: verdict?.module }),
          spawned.stderr.tail(),
        );
      }
      throw new BridgeProcessError(
        'HEALTH_CHECK_TIMEOUT',
        `the bridge did not answer GET /health within ${this.bridge.healthTimeoutMs} ms (last: ${error.lastReason})`,
        troubleshootingFor('HEALTH_CHECK_TIMEOUT', this.bridge),
        spawned.stderr.tail(),
      );
    }
  }

  private spawnError(error: Error, from: BridgeProcess | []): BridgeProcessError {
    return new BridgeProcessError(
      'PROCESS_SPAWN_ERROR',
      `cannot start the bridge: ${error.message}`,
      troubleshootingFor('PROCESS_SPAWN_ERROR', this.bridge),
      Array.isArray(from) ? from : from.stderr.tail(),
    );
  }

  private onUnexpectedExit(exited: BridgeProcess): void {
    if (this.stopping) return;
    this.process = undefined;
    this.readyAt = null;
    const verdict = exited.stderrVerdict;
    const type = verdict?.type ?? 'PROCESS_CRASH';
    const error = new BridgeProcessError(
      type,
      `the bridge (pid ${exited.pid}) exited unexpectedly (${exited.exitDescription})`,
      troubleshootingFor(type, this.bridge, { module: verdict?.module }),
      exited.stderr.tail(),
    );
    this.recordError(error);
    this.scheduleRestart(error);
  }

  /**
   * The next attempt, after the policy's delay. `failed` is announced (and alerted) for a failed
   * first start and once the failures in a row pass BRIDGE_MAX_RESTARTS; it is a state, not an
   * end: the attempts go on at the capped delay. State reasons reach every socket client: the
   * failure's public words, never paths or stderr.
   */
  private scheduleRestart(error: BridgeProcessError, announceFailed = false): void {
    const decision = this.restarts.next(publicBridgeMessage(error.type));
    if (!decision.restart) {
      this.logger.error(
        `usage bridge failed; the gateway keeps serving from its fallbacks (${decision.why}; ${error.message})`,
      );
      this.fail(decision.why);
      return;
    }
    const failed = announceFailed || decision.crashLooping;
    const seconds = Math.round(decision.delayMs / 100) / 10;
    this.setState(
      failed ? 'failed' : 'restarting',
      failed
        ? `${publicBridgeMessage(error.type)}; trying again in ${seconds} s`
        : publicBridgeMessage(error.type),
    );
    this.logger.warn(
      `restarting the usage bridge in ${decision.delayMs} ms (failure ${decision.attempt} in a row${decision.crashLooping ? `, more than BRIDGE_MAX_RESTARTS=${this.bridge.maxRestarts}: a crash loop, the delay grows up to ${this.bridge.maxBackoffMs} ms` : ''})`,
    );
    this.restartTimer = setTimeout(() => {
      this.metrics.restarted();
      void this.start();
    }, decision.delayMs);
  }

  private recordError(error: BridgeProcessError): void {
    this.lastError = error.toInfo(new Date(this.now()));
    const tail = error.stderrTail.length
      ? `\n  stderr:\n    ${error.stderrTail.slice(-10).join('\n    ')}`
      : '';
    this.logger.error(
      `usage bridge ${error.type}: ${error.message}\n  what to do:\n    - ${error.troubleshooting.join('\n    - ')}${tail}`,
    );
  }

  /** Kills and forgets the current process (after a failed start). */
  private abandon(): void {
    const abandoned = this.process;
    this.process = undefined;
    abandoned?.kill('SIGKILL');
  }

  /** SIGTERM, then SIGKILL after BRIDGE_SHUTDOWN_TIMEOUT_MS. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.watchTimer);
    this.restarts.dispose();
    const running = this.process;
    if (!running?.running) {
      if (this.supervises) this.setState('stopped');
      return;
    }
    this.setState('stopping');
    await running.stop(this.bridge.shutdownTimeoutMs);
    this.process = undefined;
    this.setState('stopped');
  }
}
