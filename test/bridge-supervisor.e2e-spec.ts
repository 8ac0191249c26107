import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient } from '../src/bridge/bridge-client';
import type { BridgeStatusDto } from '../src/bridge/dto/bridge-status.dto';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { spawnGateway } from './support/gateway-process';
import { startTestApp, type RunningApp } from './support/test-app';
import { freePort, isAlive, waitFor } from './support/wait';

const FIXTURES = join(__dirname, 'fixtures', 'bridges');

/** A gateway that spawns a bridge on a free port, with its own temp data, state and database. */
class SpawnedGateway {
  private readonly dir = mkdtempSync(join(tmpdir(), 'ug-bridge-'));
  private readonly db: TestDatabase = createSqliteDatabase();
  running!: RunningApp;

  async start(env: Record<string, string> = {}): Promise<this> {
    this.running = await startTestApp({
      ...this.db.env,
      BRIDGE_MODE: 'spawn',
      BRIDGE_PORT: '0',
      BRIDGE_STATE_DIR: join(this.dir, 'state'),
      CLAUDE_CONFIG_DIR: join(this.dir, 'claude'),
      PATH: process.env.PATH ?? '',
      HOME: this.dir,
      BRIDGE_RESTART_DELAY_MS: '200',
      ...env,
    });
    return this;
  }

  async status(): Promise<BridgeStatusDto> {
    return (await (
      await fetch(`${this.running.url}/api/usage/bridge/status`)
    ).json()) as BridgeStatusDto;
  }

  /** Waits until the supervisor settles in `state` and returns the status. */
  /** Waits for the supervisor's state (generously: a machine under load starts Python slowly). */
  waitForState(state: string, timeoutMs = 45_000): Promise<BridgeStatusDto> {
    return waitFor(
      async () => {
        const status = await this.status();
        return status.process.state === state ? status : undefined;
      },
      timeoutMs,
      `bridge state ${state}`,
    );
  }

  async close(): Promise<void> {
    await this.running?.close();
    await this.db.drop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe(
  'bridge supervisor: every start-up failure is typed, with troubleshooting',
  { timeout: 60_000 },
  () => {
    let gateway: SpawnedGateway | undefined;
    let blocker: Server | undefined;
    afterEach(async () => {
      await gateway?.close();
      gateway = undefined;
      blocker?.close();
      blocker = undefined;
    });

    it('SCRIPT_NOT_FOUND for a missing script', async () => {
      gateway = await new SpawnedGateway().start({ BRIDGE_SCRIPT: '/nonexistent/usage_bridge.py' });
      const { process: proc } = await gateway.waitForState('failed');
      expect(proc.lastError?.type).toBe('SCRIPT_NOT_FOUND');
      expect(proc.lastError?.message).toContain('/nonexistent/usage_bridge.py');
      expect(proc.lastError?.troubleshooting.join(' ')).toContain('BRIDGE_SCRIPT');
      expect((await fetch(`${gateway.running.url}/health/live`)).status).toBe(200);
    });

    it('PYTHON_NOT_FOUND for a bad interpreter path and no python on PATH', async () => {
      gateway = await new SpawnedGateway().start({
        BRIDGE_PYTHON: '/nonexistent/bin/python3',
        PATH: '/nonexistent/bin',
      });
      const { process: proc } = await gateway.waitForState('failed');
      expect(proc.lastError?.type).toBe('PYTHON_NOT_FOUND');
      expect(proc.lastError?.troubleshooting.join(' ')).toMatch(/BRIDGE_PYTHON/);
    });

    it('PYTHON_NOT_FOUND naming the version when the only Python is too old', async () => {
      gateway = await new SpawnedGateway().start({
        BRIDGE_PYTHON: join(FIXTURES, 'old_python.sh'),
        PATH: '/nonexistent/bin',
      });
      const { process: proc } = await gateway.waitForState('failed');
      expect(proc.lastError?.type).toBe('PYTHON_NOT_FOUND');
      expect(proc.lastError?.message).toContain('3.8.10');
      expect(proc.lastError?.troubleshooting[0]).toContain('3.9 or newer');
    });

    it('PORT_IN_USE naming the taken port', async () => {
      const port = await freePort();
      blocker = createServer().listen(port, '127.0.0.1');
      gateway = await new SpawnedGateway().start({ BRIDGE_PORT: String(port) });
      const { process: proc } = await gateway.waitForState('failed');
      expect(proc.lastError?.type).toBe('PORT_IN_USE');
      expect(proc.lastError?.troubleshooting.join(' ')).toContain(`lsof -i :${port}`);
    });

    it('DEPENDENCY_ERROR for a configured import that fails', async () => {
      gateway = await new SpawnedGateway().start({
        BRIDGE_PREFLIGHT_IMPORTS: 'json,definitely_missing_mod',
      });
      const { process: proc } = await gateway.waitForState('failed');
      expect(proc.lastError?.type).toBe('DEPENDENCY_ERROR');
      expect(proc.lastError?.message).toContain('definitely_missing_mod');
      expect(proc.lastError?.stderr_tail.join('\n')).toContain('ModuleNotFoundError');
    });

    it('DEPENDENCY_ERROR from the stderr of a bridge that fails an import', async () => {
      gateway = await new SpawnedGateway().start({
        BRIDGE_SCRIPT: join(FIXTURES, 'missing_import.py'),
      });
      const { process: proc } = await gateway.waitForState('failed');
      expect(proc.lastError?.type).toBe('DEPENDENCY_ERROR');
      expect(proc.lastError?.troubleshooting[0]).toContain('definitely_not_installed_module');
    });

    it('PROCESS_CRASH with the stderr tail for a bridge that exits 1 at start', async () => {
      gateway = await new SpawnedGateway().start({
        BRIDGE_SCRIPT: join(FIXTURES, 'exits_at_start.py'),
      });
      const { process: proc } = await gateway.waitForState('failed');
      expect(proc.lastError?.type).toBe('PROCESS_CRASH');
      expect(proc.lastError?.message).toContain('code 1');
      expect(proc.lastError?.stderr_tail).toContain('boom: cannot open the usage logs');
    });

    it('HEALTH_CHECK_TIMEOUT for a bridge that never listens', async () => {
      gateway = await new SpawnedGateway().start({
        BRIDGE_SCRIPT: join(FIXTURES, 'never_listens.py'),
        BRIDGE_HEALTH_TIMEOUT_MS: '1500',
      });
      const { process: proc } = await gateway.waitForState('failed');
      expect(proc.lastError?.type).toBe('HEALTH_CHECK_TIMEOUT');
      expect(proc.lastError?.message).toContain('connection refused');
      expect(proc.pid).toBeNull(); // the hung process was killed, not left behind
    });
  },
);

describe('bridge supervisor: a real bridge, killed', () => {
  let gateway: SpawnedGateway;
  beforeAll(async () => {
    gateway = await new SpawnedGateway().start({ BRIDGE_MAX_RESTARTS: '3' });
  });
  afterAll(() => gateway?.close());

  it('comes back healthy after each SIGKILL during traffic; the fourth kill in a row is announced as failed, and it still comes back', async () => {
    const first = await gateway.waitForState('ready');
    expect(first.healthy).toBe(true);
    const client = gateway.running.app.get(BridgeClient);

    let pid = first.process.pid as number;
    for (let kill = 1; kill <= 3; kill++) {
      let stop = false;
      const traffic = (async () => {
        while (!stop) {
          await client.get('/usage/config').catch(() => undefined);
          await new Promise((r) => setTimeout(r, 5)); // a client's pace, not a microtask spin
        }
      })();
      process.kill(pid, 'SIGKILL');
      // How fast it comes back is measured by the drills (npm run drills); here: that it does.
      const back = await waitFor(
        async () => {
          const s = await gateway.status();
          return s.process.state === 'ready' && s.process.pid !== pid ? s : undefined;
        },
        15_000,
        `restart ${kill}`,
      );
      stop = true;
      await traffic;
      expect(back.process.restartAttempts).toBe(kill);
      expect(isAlive(pid)).toBe(false);
      pid = back.process.pid as number;
      expect((await client.get<{ plan: string }>('/usage/config')).data.plan).toBe('pro');
    }

    process.kill(pid, 'SIGKILL');
    const failed = await gateway.waitForState('failed', 5000);
    expect(failed.healthy).toBe(false);
    expect(failed.process.lastError?.type).toBe('PROCESS_CRASH');
    expect(failed.process.lastError?.message).toContain('SIGKILL');
    expect((await fetch(`${gateway.running.url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${gateway.running.url}/health/ready`);
    expect(ready.status).toBe(200); // BRIDGE_REQUIRED is off: serving does not need the bridge
    const health = (await (await fetch(`${gateway.running.url}/health`)).json()) as {
      details: { bridge: Record<string, unknown> };
    };
    expect(health.details.bridge).toMatchObject({
      status: 'up',
      reachable: false,
      state: 'failed',
      error: 'PROCESS_CRASH',
    });
    // Not a terminal state: the next attempt comes after the grown delay (200 ms × 2^3).
    const back = await gateway.waitForState('ready', 15_000);
    expect(back.process.pid).not.toBe(pid);
    expect(back.process.restartAttempts).toBe(4);
  }, 40_000);
});

describe('bridge supervisor: a fixed BRIDGE_PORT (the default setup), killed after serving', () => {
  let gateway: SpawnedGateway;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    gateway = await new SpawnedGateway().start({
      BRIDGE_PORT: String(port),
      BRIDGE_STABLE_AFTER_MS: '5000',
    });
  });
  afterAll(() => gateway?.close());

  it('restarts on the same port although the dead bridge left connections in TIME-WAIT', async () => {
    let pid = (await gateway.waitForState('ready')).process.pid as number;
    for (let kill = 1; kill <= 2; kill++) {
      // Keep-alive reads through the gateway: the bridge side closes these when it dies, which
      // leaves them in TIME-WAIT on the bridge's port for 60 s.
      for (let i = 0; i < 3; i++) {
        const res = await fetch(
          `${gateway.running.url}/api/usage/stats?custom_limit_tokens=${1000 + kill * 10 + i}&plan=custom`,
        );
        expect(res.status).toBe(200);
        expect(res.headers.get('x-data-source')).toBe('bridge');
      }
      process.kill(pid, 'SIGKILL');
      const back = await waitFor(
        async () => {
          const s = await gateway.status();
          if (s.process.state === 'failed')
            throw new Error(`failed: ${s.process.lastError?.message}`);
          return s.process.state === 'ready' && s.process.pid !== pid ? s : undefined;
        },
        10_000,
        `restart ${kill} on port ${port}`,
      );
      expect(back.process.restartAttempts).toBe(kill);
      expect(back.url).toBe(`http://127.0.0.1:${port}`);
      pid = back.process.pid as number;
    }
  }, 40_000);

  it('forgives a crash after BRIDGE_STABLE_AFTER_MS of health: the next one restarts after the first delay again', async () => {
    const { process: before } = await gateway.waitForState('ready');
    // Kills spaced like real crashes (not a crash loop) must not run the delays up to 8 s.
    await waitFor(
      async () => ((await gateway.status()).process.restartAttempts === 0 ? true : undefined),
      15_000,
      'the restart counter to reset',
    );
    process.kill(before.pid as number, 'SIGKILL');
    const back = await waitFor(
      async () => {
        const s = await gateway.status();
        return s.process.state === 'ready' && s.process.pid !== before.pid ? s : undefined;
      },
      10_000,
      'a restart',
    );
    expect(back.process.restartAttempts).toBe(1);
  }, 40_000);

  it('refuses to start while another process listens on the port, and starts by itself once it is free', async () => {
    const blocked = await freePort();
    const blocker = createServer().listen(blocked, '127.0.0.1');
    const other = await new SpawnedGateway().start({
      BRIDGE_PORT: String(blocked),
      BRIDGE_MAX_BACKOFF_MS: '1000',
    });
    try {
      const { process: proc } = await other.waitForState('failed');
      expect(proc.lastError?.type).toBe('PORT_IN_USE');
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      // Tried again at the (capped) delay: no gateway restart, no BRIDGE_FAILED_RETRY_MS wait.
      const ready = await other.waitForState('ready', 20_000);
      expect(ready.url).toBe(`http://127.0.0.1:${blocked}`);
    } finally {
      blocker.close();
      await other.close();
    }
  }, 40_000);
});

describe('bridge supervisor: a hung bridge', () => {
  let gateway: SpawnedGateway;
  beforeAll(async () => {
    gateway = await new SpawnedGateway().start({
      BRIDGE_PORT: String(await freePort()),
      BRIDGE_WATCH_INTERVAL_MS: '300',
      BRIDGE_HUNG_AFTER_CHECKS: '3',
    });
  });
  afterAll(() => gateway?.close());

  it('is killed and replaced once it misses BRIDGE_HUNG_AFTER_CHECKS health checks in a row', async () => {
    const { process: before } = await gateway.waitForState('ready');
    const pid = before.pid as number;
    process.kill(pid, 'SIGSTOP'); // alive, listening, answering nothing
    try {
      const back = await waitFor(
        async () => {
          const s = await gateway.status();
          return s.process.state === 'ready' && s.process.pid !== pid ? s : undefined;
        },
        20_000,
        'a new bridge in place of the hung one',
      );
      expect(back.process.lastError).toBeNull();
      expect(isAlive(pid)).toBe(false);
      const metrics = await (await fetch(`${gateway.running.url}/metrics`)).text();
      expect(metrics).toMatch(/^bridge_hung_kills_total 1$/m);
    } finally {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 30_000);
});

describe('no bridge is left behind', () => {
  it('when the gateway stops', async () => {
    const gateway = await new SpawnedGateway().start();
    const pid = (await gateway.waitForState('ready')).process.pid as number;
    expect(isAlive(pid)).toBe(true);
    await gateway.close();
    expect(isAlive(pid)).toBe(false);
  });

  it('when the gateway process is killed with SIGKILL (the bridge watches its parent)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ug-orphan-'));
    const port = await freePort();
    const gateway = spawnGateway({
      PORT: String(port),
      DB_SQLITE_PATH: join(dir, 'db.sqlite'),
      BRIDGE_MODE: 'spawn',
      BRIDGE_PORT: '0',
      BRIDGE_STATE_DIR: join(dir, 'state'),
      CLAUDE_CONFIG_DIR: join(dir, 'claude'),
    });
    try {
      const url = await gateway.listening;
      const pid = await waitFor(
        async () => {
          const s = (await (
            await fetch(`${url}/api/usage/bridge/status`)
          ).json()) as BridgeStatusDto;
          return s.process.state === 'ready' ? (s.process.pid as number) : undefined;
        },
        15_000,
        'bridge ready',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${gateway.output()}`);
      });
      gateway.child.kill('SIGKILL');
      await gateway.exited;
      await waitFor(() => !isAlive(pid), 10_000, 'orphaned bridge gone');
    } finally {
      if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
