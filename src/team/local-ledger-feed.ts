import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { PeriodicJobs } from '../cluster/periodic-jobs';
import { CLOCK, type Clock } from '../common/clock';
import { ValidationFailedError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import { LOCAL_MEMBER } from '../limits/limits.service';
import { checkPushEntries, type PushEntries } from './dto/push-entries.check';
import { LedgerService } from './ledger/ledger.service';

/** A run longer than this is stopped (the next one goes on from the last stored batch). */
const RUN_DEADLINE_MS = 10 * 60 * 1000;

/** This machine's name as a ledger machine. */
export const localMachine = (): string =>
  (hostname() || 'gateway').replace(/[^\w.@:-]/g, '-').slice(0, 128);

/**
 * The third way into the ledger (docs/design.md §9): the gateway's own machine, whose logs the spawned
 * bridge reads. Every TEAM_LOCAL_LEDGER_INTERVAL_MS it runs the push client in `--stdio` mode —
 * the same reading of the same files, with its own cursors (in BRIDGE_STATE_DIR) — and stores
 * each batch it hands over as member `local`, machine = this host's name, before answering it:
 * a cursor moves only past stored lines. The first run takes the whole history.
 */
@Injectable()
export class LocalLedgerFeed implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LocalLedgerFeed.name);
  private child: ChildProcess | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly ledger: LedgerService,
    private readonly jobs: PeriodicJobs,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  get enabled(): boolean {
    return this.config.bridge.mode === 'spawn' && this.config.team.localLedgerIntervalMs > 0;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.jobs.every('local-ledger', this.config.team.localLedgerIntervalMs, () => this.run(), {
      runAtStart: true,
    });
  }

  onApplicationShutdown(): void {
    this.child?.kill('SIGTERM');
  }

  /** One push of this machine's new lines; resolves with the entries stored. */
  run(): Promise<number> {
    const bridge = this.config.bridge;
    const stateDir = join(bridge.stateDir, 'ledger-push');
    const script = join(dirname(bridge.script), 'usage_push.py');
    const args = [
      script,
      '--stdio',
      '--quiet',
      '--machine',
      localMachine(),
      '--state-dir',
      stateDir,
    ];
    // The first run sends the whole history; later ones what was written since.
    if (!existsSync(join(stateDir, 'push-state.json'))) args.push('--all');
    const env = { ...bridge.childEnv, PYTHONUNBUFFERED: '1' };
    return new Promise((resolve, reject) => {
      const child = spawn(bridge.python, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      this.child = child;
      let stored = 0;
      let stderr = '';
      const deadline = setTimeout(() => child.kill('SIGTERM'), RUN_DEADLINE_MS);
      // A push that exits before our answer (killed at its deadline, crashed) closes its stdin:
      // the write fails with EPIPE, which is that exit's news — reported on close, never thrown.
      child.stdin?.on('error', () => undefined);
      child.stderr?.on(
        'data',
        (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)),
      );
      const lines = createInterface({ input: child.stdout! });
      // One batch at a time: the push client waits for each answer.
      lines.on('line', (line) => {
        lines.pause();
        void this.store(line).then((answer) => {
          if ('accepted' in answer) stored += answer.accepted;
          if (child.stdin?.writable) child.stdin.write(`${JSON.stringify(answer)}\n`);
          lines.resume();
        });
      });
      child.on('error', (error) => {
        clearTimeout(deadline);
        reject(error);
      });
      child.on('close', (code) => {
        clearTimeout(deadline);
        this.child = undefined;
        if (code === 0) resolve(stored);
        else {
          this.logger.warn(
            `this machine's logs into the ledger: push exited ${code}: ${stderr.trim()}`,
          );
          resolve(stored);
        }
      });
    });
  }

  private async store(
    line: string,
  ): Promise<{ accepted: number; duplicates: number; superseded: number } | { error: string }> {
    try {
      let body: PushEntries;
      try {
        body = checkPushEntries(
          { ...(JSON.parse(line) as object), member: LOCAL_MEMBER },
          this.now(),
        );
      } catch (error) {
        if (!(error instanceof ValidationFailedError)) throw error;
        return { error: `invalid batch: ${error.fieldErrors.length} bad fields` };
      }
      const result = await this.ledger.push(undefined, body, 'local');
      return {
        accepted: result.accepted,
        duplicates: result.duplicates,
        superseded: result.superseded,
      };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }
}
