import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { BridgeConfig } from '../config/app-config';
import { BridgeProcessError, troubleshootingFor } from './bridge-process.error';

const MIN_PYTHON: readonly [number, number] = [3, 9];
const PROBE_TIMEOUT_MS = 10_000;

export interface PreflightResult {
  /** The interpreter to spawn (as given or found on PATH). */
  readonly python: string;
  readonly version: string;
  /** The port to pass to the bridge (a free one when BRIDGE_PORT=0). */
  readonly port: number;
}

interface RunResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  missing: boolean;
}

function run(file: string, args: string[], env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: PROBE_TIMEOUT_MS }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      resolve({
        ok: !error,
        stdout: String(stdout),
        stderr: String(stderr),
        missing: code === 'ENOENT' || code === 'EACCES',
      });
    });
  });
}

/** Binds `port` on loopback to learn whether it is free (0: asks the OS for a free one). */
export function probePort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * Checks everything the bridge needs before it is spawned, so a failure is named precisely
 * (interpreter, version, script, imports, port) instead of surfacing as a vague crash.
 */
export class BridgePreflight {
  constructor(private readonly bridge: BridgeConfig) {}

  async run(): Promise<PreflightResult> {
    const { python, version } = await this.findPython();
    await this.checkScript();
    await this.checkImports(python);
    const port = await this.checkPort();
    return { python, version, port };
  }

  private async findPython(): Promise<{ python: string; version: string }> {
    const candidates = [...new Set([this.bridge.python, 'python3', 'python'])];
    let tooOld: string | undefined;
    for (const candidate of candidates) {
      const probe = await run(
        candidate,
        ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
        this.bridge.childEnv,
      );
      if (!probe.ok) continue;
      const version = probe.stdout.trim();
      const [major, minor] = version.split('.').map(Number);
      if (major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1])) {
        return { python: candidate, version };
      }
      tooOld ??= `${version} (${candidate})`;
    }
    throw new BridgeProcessError(
      'PYTHON_NOT_FOUND',
      tooOld
        ? `Python ${tooOld} is too old: the bridge needs ${MIN_PYTHON.join('.')} or newer`
        : `no Python interpreter found (tried ${candidates.join(', ')})`,
      troubleshootingFor('PYTHON_NOT_FOUND', this.bridge, { version: tooOld }),
    );
  }

  private async checkScript(): Promise<void> {
    try {
      await access(this.bridge.script, constants.R_OK);
    } catch {
      throw new BridgeProcessError(
        'SCRIPT_NOT_FOUND',
        `bridge script not found: ${this.bridge.script}`,
        troubleshootingFor('SCRIPT_NOT_FOUND', this.bridge),
      );
    }
  }

  private async checkImports(python: string): Promise<void> {
    for (const module of this.bridge.preflightImports) {
      const probe = await run(python, ['-c', `import ${module}`], this.bridge.childEnv);
      if (!probe.ok) {
        throw new BridgeProcessError(
          'DEPENDENCY_ERROR',
          `Python module "${module}" cannot be imported by ${python}`,
          troubleshootingFor('DEPENDENCY_ERROR', this.bridge, { module }),
          probe.stderr.trim().split('\n').slice(-5),
        );
      }
    }
  }

  private async checkPort(): Promise<number> {
    try {
      return await probePort(this.bridge.port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new BridgeProcessError(
          'PORT_IN_USE',
          `port ${this.bridge.port} on 127.0.0.1 is already in use`,
          troubleshootingFor('PORT_IN_USE', this.bridge, { port: this.bridge.port }),
        );
      }
      throw new BridgeProcessError(
        'NETWORK_ERROR',
        `cannot bind 127.0.0.1:${this.bridge.port}: ${(error as Error).message}`,
        troubleshootingFor('NETWORK_ERROR', this.bridge),
      );
    }
  }
}
