import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '@nestjs/common';
import { type BridgeErrorType, classifyStderr } from './bridge-process.error';
import { LineRingBuffer } from './line-ring-buffer';

const STDERR_LINES = 50;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * One running bridge process: spawned with its arguments, its stderr kept (the last 50 lines)
 * and classified (a missing module, a port in use), its exit observed, and a stop that escalates
 * from SIGTERM to SIGKILL. Whether to start it, and again, is the supervisor's business.
 */
export class BridgeProcess {
  readonly stderr = new LineRingBuffer(STDERR_LINES);
  /** Resolves when the process has exited, however. */
  readonly exited: Promise<Exit>;
  /** Rejects if the process could not be spawned at all (ENOENT, EACCES). */
  readonly spawnFailure: Promise<never>;
  private verdict: { type: BridgeErrorType; module?: string } | undefined;
  private exit: Exit | undefined;

  private constructor(
    private readonly child: ChildProcess,
    logger: Logger,
  ) {
    child.stdout?.setEncoding('utf8').on('data', () => undefined);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of this.stderr.push(chunk)) {
        this.verdict ??= classifyStderr(line);
        logger.debug(`bridge stderr: ${line}`);
      }
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve((this.exit = { code, signal }))),
    );
    this.spawnFailure = new Promise((_, reject) => child.once('error', reject));
    this.spawnFailure.catch(() => undefined); // observed by whoever races it
  }

  static spawn(
    python: string,
    args: readonly string[],
    env: Record<string, string>,
    logger: Logger,
  ): BridgeProcess {
    const child = spawn(python, [...args], { env: { ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    return new BridgeProcess(child, logger);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && !this.exit;
  }

  /** What its stderr says went wrong (the first line that tells), if anything. */
  get stderrVerdict(): { type: BridgeErrorType; module?: string } | undefined {
    return this.verdict;
  }

  /** How it ended: `SIGKILL`, `code 1`; undefined while it runs. */
  get exitDescription(): string | undefined {
    return this.exit && (this.exit.signal ?? `code ${this.exit.code}`);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
