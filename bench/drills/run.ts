/**
 * Fault drills (issue: hardening): the faults and deployments users really run, against the built
 * gateway (`node dist/main.js`) with a real bridge on a fixed BRIDGE_PORT, a real PostgreSQL and
 * Redis (cut with the tests' TCP proxy, never stopped), real sockets and the real hook sender.
 *
 *   npm run drills        (builds, then: node -r ./scripts/register-ts.js bench/drills/run.ts)
 *
 * Prints one row per drill — what was measured, the goal, and where a latency or memory figure
 * has one, the no-fault baseline measured in the same run — and exits 1 when a goal is missed.
 * DRILLS=name,name runs a subset; DRILL_QUERIES (default 100000) sizes the heap drill;
 * DRILL_RECEIVER_DOWN_S (default 600) is how long the alert receiver is down; DRILL_TREE_BYTES
 * (default 3e8) sizes the log tree of the rebuild drill.
 * Needs TEST_DATABASE_URL and TEST_REDIS_URL for the PostgreSQL and Redis drills (skipped, and
 * reported as skipped, without them).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { DataSource } from 'typeorm';
import { AlertRecord } from '../../src/alerts/alert.entity';
import { DatabaseWrites } from '../../src/database/database-writes';
import Database from 'better-sqlite3';
import { HookEvent } from '../../src/events/hook-event.entity';
import { UsageConfigRecord } from '../../src/usage/usage-config.entity';
import { startTestApp } from '../../test/support/test-app';
import {
  createPostgresDatabase,
  postgresBehindProxy,
  type TestDatabase,
} from '../../test/support/databases';
import { rawRequest } from '../../test/support/raw-http';
import { TcpProxy } from '../../test/support/tcp-proxy';
import { signJwt } from '../../test/support/tokens';
import { writeUsageLog } from '../../test/support/usage-logs';
import { freePort, isAlive, waitFor } from '../../test/support/wait';

const ROOT = join(__dirname, '..', '..');
const SENDER = join(ROOT, 'bin', 'usage-gateway-hook');
const QUERIES = Number(process.env.DRILL_QUERIES ?? 100_000);
const ONLY = process.env.DRILLS?.split(',').map((s) => s.trim());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  readonly drill: string;
  readonly measured: string;
  readonly goal: string;
  readonly ok: boolean | 'skipped';
}
const rows: Row[] = [];

/** test/support's waitFor, with the condition's name first (reads better in the drills). */
const waitUntil = <T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  ms: number,
): Promise<T> => waitFor(probe, ms, what);

/** A Claude Code log tree with an active block (lines over the last 4 hours). */
function writeLogs(dir: string): string {
  const claude = join(dir, 'claude');
  writeUsageLog(claude, {
    start: Date.now() - 4 * 3_600_000,
    count: 400,
    everyMs: 36_000,
    usage: (i) => ({ input_tokens: 100 + i, output_tokens: 500, cache_read_input_tokens: 1000 }),
  });
  return claude;
}

interface BridgeStatus {
  healthy: boolean;
  process: { state: string; pid: number | null; restartAttempts: number };
  circuit: { state: string };
}

/** The built gateway as a user runs it: its own process, a spawned bridge on a fixed port. */
class Gateway {
  readonly url: string;
  readonly exited: Promise<number | null>;
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(dir: string, env: Record<string, string>, port?: number): Promise<Gateway> {
    const listen = port ?? (await freePort());
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '-r',
        join(ROOT, 'bench', 'fanout', 'gc-on-signal.js'),
        join(ROOT, 'dist', 'main.js'),
      ],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          NODE_ENV: 'production',
          HOST: '127.0.0.1',
          PORT: String(listen),
          LOG_LEVEL: 'error',
          RATE_LIMIT_READS_PER_MIN: '10000000',
          RATE_LIMIT_WRITES_PER_MIN: '10000000',
          DB_SQLITE_PATH: join(dir, 'gateway.sqlite'),
          BRIDGE_STATE_DIR: join(dir, 'bridge-state'),
          CLAUDE_CONFIG_DIR: join(dir, 'claude'),
          ...env,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const gateway = new Gateway(child, listen);
    await waitUntil(
      'gateway listening',
      async () => (await fetch(`${gateway.url}/health/live`)).ok,
      30_000,
    );
    return gateway;
  }

  async status(): Promise<BridgeStatus> {
    return (await (await fetch(`${this.url}/api/usage/bridge/status`)).json()) as BridgeStatus;
  }

  /** A ready, healthy bridge — with `replacing`, another process than that pid. */
  async bridgeReady(ms = 20_000, replacing?: number): Promise<BridgeStatus> {
    return waitUntil(
      replacing === undefined ? 'bridge ready' : `a new bridge in place of pid ${replacing}`,
      async () => {
        const s = await this.status();
        return s.process.state === 'ready' && s.healthy && s.process.pid !== replacing
          ? s
          : undefined;
      },
      ms,
    );
  }

  async heapUsed(): Promise<number> {
    this.child.kill('SIGUSR2');
    await sleep(400);
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '));
    return Number(line?.split(' ')[1]);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

/** GET over a keep-alive agent; resolves with status and ms, never rejects. */
function timedGet(agent: Agent, url: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.end();
  });
}

/** `n` readers in a loop on a few parameter sets; counts errors and the slowest answer. */
function readers(url: string, n: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: n });
  let stop = false;
  let errors = 0;
  let reads = 0;
  let maxMs = 0;
  const loops = Array.from({ length: n }, async (_, i) => {
    while (!stop) {
      const path =
        i % 2 === 0
          ? `/api/usage/stats?plan=custom&custom_limit_tokens=${50_000 + i}`
          : `/api/usage/sessions?hours_back=${24 + i}`;
      const { status, ms } = await timedGet(agent, url + path);
      reads++;
      maxMs = Math.max(maxMs, ms);
      if (status !== 200) errors++;
      await sleep(20);
    }
  });
  return {
    reset: () => ((errors = 0), (reads = 0), (maxMs = 0)),
    figures: () => ({ errors, reads, maxMs }),
    stop: async () => {
      stop = true;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function runSender(event: unknown, env: Record<string, string>): void {
  spawnSync(process.execPath, [SENDER], {
    input: JSON.stringify(event),
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 10_000,
  });
}

// -- the drills ----------------------------------------------------------------------------

async function drillBridgeKill(dir: string): Promise<void> {
  const bridgePort = await freePort();
  const gw = await Gateway.start(dir, { BRIDGE_PORT: String(bridgePort) });
  try {
    let status = await gw.bridgeReady();
    const load = readers(gw.url, 8);
    await sleep(2000);
    const recoveries: number[] = [];
    for (let kill = 0; kill < 3; kill++) {
      const pid = status.process.pid as number;
      const killedAt = performance.now();
      process.kill(pid, 'SIGKILL');
      status = await gw.bridgeReady(30_000, pid);
      recoveries.push((performance.now() - killedAt) / 1000);
      if (kill < 2) await sleep(Math.max(0, 10_000 - (performance.now() - killedAt)));
    }
    await sleep(1000);
    await load.stop();
    const { errors, reads } = load.figures();
    // Three kills 10 s apart are a crash loop (BRIDGE_STABLE_AFTER_MS is 10 min): the restart
    // delays are 2, 4 and 8 s (BRIDGE_RESTART_DELAY_MS doubling); each comeback is its delay plus
    // a start-up.
    const delays = [2, 4, 8];
    const startUps = recoveries.map((r, i) => r - delays[i]);
    rows.push({
      drill: `bridge SIGKILL ×3 (10 s apart), fixed BRIDGE_PORT ${bridgePort}, 8 readers`,
      measured: `${errors} errors / ${reads} reads; healthy again after ${recoveries.map((r) => r.toFixed(2)).join(', ')} s (delays 2, 4, 8 s + start-ups of ${startUps.map((s) => s.toFixed(2)).join(', ')} s)`,
      goal: '0 errors; each back within its restart delay + 3 s',
      ok: errors === 0 && startUps.every((s) => s >= 0 && s <= 3),
    });
  } finally {
    await gw.stop();
  }
}

async function drillBridgeStop(dir: string): Promise<void> {
  const gw = await Gateway.start(dir, { BRIDGE_PORT: String(await freePort()) });
  try {
    const { process: proc } = await gw.bridgeReady();
    const load = readers(gw.url, 8);
    await sleep(3000);
    const baseline = load.figures();
    load.reset();
    const circuits = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        circuits.add((await gw.status().catch(() => undefined))?.circuit.state ?? 'unknown');
        await sleep(100);
      }
    })();
    // A stall shorter than the hang threshold (3 watch checks of 2 s, at least 6 s): the breaker's
    // case, not a replacement (that one is drill bridge-hang).
    process.kill(proc.pid as number, 'SIGSTOP');
    await sleep(5000);
    if (isAlive(proc.pid as number)) process.kill(proc.pid as number, 'SIGCONT');
    // Reads answer from the fallback after USAGE_READ_DEADLINE_MS; the calls under way finish when
    // the bridge resumes (within their timeout): the breaker may stay closed, and must end so.
    const closedAgain = await waitUntil(
      'circuit closed',
      async () => (await gw.status()).circuit.state === 'closed',
      40_000,
    ).catch(() => false);
    const during = load.figures();
    watching = false;
    await watcher;
    await load.stop();
    rows.push({
      drill: 'bridge SIGSTOP 5 s (a stall below the hang threshold), 8 readers',
      measured:
        `${(during.maxMs / baseline.maxMs).toFixed(1)}× baseline max latency ` +
        `(${during.maxMs.toFixed(0)} ms vs ${baseline.maxMs.toFixed(0)} ms); ${during.errors} errors / ${during.reads} reads; ` +
        `circuit ${[...circuits].join(' → ')}${closedAgain ? ', closed at the end' : ', NOT closed at the end'}`,
      goal: '0 errors; max ≤ 1,500 ms; the breaker closed at the end',
      ok: during.errors === 0 && during.maxMs <= 1500 && Boolean(closedAgain),
    });
  } finally {
    await gw.stop();
  }
}

/** A bridge SIGSTOPped for 60 s: alive, listening, answering nothing. */
async function drillBridgeHang(dir: string): Promise<void> {
  const gw = await Gateway.start(dir, { BRIDGE_PORT: String(await freePort()) });
  try {
    const { process: proc } = await gw.bridgeReady();
    const pid = proc.pid as number;
    const load = readers(gw.url, 8);
    await sleep(2000);
    load.reset();
    const stoppedAt = performance.now();
    process.kill(pid, 'SIGSTOP');
    const replaced = await gw
      .bridgeReady(60_000, pid)
      .then(() => (performance.now() - stoppedAt) / 1000)
      .catch(() => Number.NaN);
    await sleep(Math.max(0, 60_000 - (performance.now() - stoppedAt)));
    if (isAlive(pid)) process.kill(pid, 'SIGCONT');
    await load.stop();
    const { errors, reads, maxMs } = load.figures();
    rows.push({
      drill: 'bridge SIGSTOP 60 s (hung), 8 readers, default watch (2 s × 3)',
      measured: `replaced ${replaced.toFixed(2)} s after the hang began (old pid ${isAlive(pid) ? 'STILL ALIVE' : 'gone'}); ${errors} errors / ${reads} reads, slowest ${maxMs.toFixed(0)} ms`,
      goal: 'replaced ≤ 15 s; 0 errors (fallback meanwhile)',
      ok: replaced <= 15 && errors === 0 && !isAlive(pid),
    });
  } finally {
    await gw.stop();
  }
}

/**
 * A bridge killed every 20 s for 3 minutes (whenever one is running at the tick): the delay
 * before each comeback grows, stops at BRIDGE_MAX_BACKOFF_MS, and starts over once the bridge
 * stayed up BRIDGE_STABLE_AFTER_MS. Both are shortened (30 s) so the drill takes 4 minutes.
 */
async function drillCrashLoop(dir: string): Promise<void> {
  const capMs = 30_000;
  const stableMs = 30_000;
  const gw = await Gateway.start(dir, {
    BRIDGE_PORT: String(await freePort()),
    BRIDGE_MAX_BACKOFF_MS: String(capMs),
    BRIDGE_STABLE_AFTER_MS: String(stableMs),
  });
  const downtime = async (pid: number) => {
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    const s = await gw.bridgeReady(capMs + 30_000, pid);
    return { seconds: (performance.now() - killedAt) / 1000, pid: s.process.pid as number };
  };
  try {
    let { process: proc } = await gw.bridgeReady();
    const started = performance.now();
    const comebacks: number[] = [];
    const states = new Set<string>();
    let pending: Promise<void> | undefined;
    let pid = proc.pid as number;
    for (let tick = 0; performance.now() - started < 180_000; tick++) {
      const at = started + tick * 20_000;
      await sleep(Math.max(0, at - performance.now()));
      const s = await gw.status();
      states.add(s.process.state);
      if (s.process.state !== 'ready' || pending) continue; // nothing running to kill
      pending = downtime(pid).then((r) => {
        comebacks.push(r.seconds);
        pid = r.pid;
        pending = undefined;
      });
    }
    await pending;
    // Stable for BRIDGE_STABLE_AFTER_MS: forgiven, the next crash restarts after the first delay.
    await sleep(stableMs + 2000);
    const forgiven = (await gw.status()).process.restartAttempts === 0;
    const afterStable = (await downtime(pid)).seconds;
    proc = (await gw.bridgeReady()).process;
    const attemptsAfter = proc.restartAttempts;
    const grows = comebacks.every((c, i) => i === 0 || c >= comebacks[i - 1] - 1);
    const capped = Math.max(...comebacks) <= capMs / 1000 + 5;
    const reachedCap = Math.max(...comebacks) >= (capMs / 1000) * 0.9;
    rows.push({
      drill: `bridge SIGKILL every 20 s for 3 min (cap ${capMs / 1000} s, stable after ${stableMs / 1000} s)`,
      measured: `back after ${comebacks.map((c) => c.toFixed(1)).join(', ')} s; after ${stableMs / 1000} s stable: count ${forgiven ? 'reset' : 'NOT reset'}, back after ${afterStable.toFixed(1)} s (attempt ${attemptsAfter}); states seen: ${[...states].join(', ')}`,
      goal: 'comebacks grow, stop at the cap (≤ cap + 5 s); after stability the count starts over (first delay again); never stuck',
      ok:
        grows &&
        capped &&
        reachedCap &&
        forgiven &&
        attemptsAfter === 1 &&
        afterStable <= comebacks[0] + 3,
    });
  } finally {
    await gw.stop();
  }
}

/** The bridge, spawned on its own (no gateway): its stdout's first line names its URL. */
async function spawnBridge(
  tree: string,
  stateDir: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    'python3',
    [
      join(ROOT, 'bridge', 'usage_bridge.py'),
      '--port',
      '0',
      '--data-dir',
      tree,
      '--state-dir',
      stateDir,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => {
      const found = /http:\/\/\S+/.exec(chunk.toString());
      if (found) resolve(found[0]);
      else reject(new Error(`no URL in ${chunk.toString()}`));
    });
    child.once('exit', () => reject(new Error('the bridge exited')));
  });
  child.stdout?.resume();
  await waitUntil(
    'the first scan',
    async () =>
      ((await (await fetch(`${url}/health`)).json()) as { initial_scan_complete: boolean })
        .initial_scan_complete,
    300_000,
  );
  return { url, child };
}

/**
 * A log tree (DRILL_TREE_BYTES, default 300 MB) with a line nested 100,000 deep, then one file
 * deleted (Claude Code deletes old transcripts): reports stay answered while the store is built
 * again in the background, and afterwards equal those of a bridge started on the tree as it is.
 */
async function drillLogTree(dir: string): Promise<void> {
  const bytes = Number(process.env.DRILL_TREE_BYTES ?? 3e8);
  const tree = join(dir, 'tree');
  spawnSync(
    'python3',
    [
      join(ROOT, 'bench', 'bridge-scan', 'generate.py'),
      tree,
      '--bytes',
      String(bytes),
      '--files',
      '600',
    ],
    {
      stdio: 'ignore',
    },
  );
  const deep = join(tree, 'projects', '-home-me-deep', 'deep.jsonl');
  mkdirSync(join(tree, 'projects', '-home-me-deep'), { recursive: true });
  writeFileSync(
    deep,
    `${'{"usage":'.repeat(100_000)}1${'}'.repeat(100_000)}\n` +
      JSON.stringify({
        type: 'assistant',
        timestamp: new Date().toISOString(),
        requestId: 'req_deep',
        message: {
          id: 'msg_deep',
          model: 'claude-sonnet-4-5-20250929',
          usage: { input_tokens: 7, output_tokens: 11 },
        },
      }) +
      '\n',
  );
  const bridge = await spawnBridge(tree, join(dir, 'state'));
  const report = `${bridge.url}/usage/reports/daily?timezone=UTC`;
  const timed = async () => {
    const t0 = performance.now();
    const res = await fetch(report);
    const body = await res.text();
    return { status: res.status, ms: performance.now() - t0, body };
  };
  try {
    const health = async () =>
      (await (await fetch(`${bridge.url}/health`)).json()) as {
        malformed_lines: number;
        rebuilds: number;
        last_scan_ms: number;
      };
    let baseline = 0;
    for (let i = 0; i < 50; i++) baseline = Math.max(baseline, (await timed()).ms);
    // The biggest session file goes, as a transcript clean-up would take it.
    const files = spawnSync(
      'find',
      [join(tree, 'projects'), '-name', '*.jsonl', '-size', '+100k'],
      {
        encoding: 'utf8',
      },
    )
      .stdout.trim()
      .split('\n');
    rmSync(files[0]);
    let during = 0;
    let errors = 0;
    const t0 = performance.now();
    while ((await health()).rebuilds < 1 && performance.now() - t0 < 300_000) {
      const r = await timed();
      if (r.status !== 200) errors++;
      during = Math.max(during, r.ms);
      await sleep(10);
    }
    const rebuildS = (performance.now() - t0) / 1000;
    const after = await timed();
    const { malformed_lines: malformed } = await health();
    const fresh = await spawnBridge(tree, join(dir, 'state-fresh'));
    const expected = await (await fetch(`${fresh.url}/usage/reports/daily?timezone=UTC`)).text();
    fresh.child.kill('SIGTERM');
    const strip = (body: string) =>
      JSON.stringify({ ...(JSON.parse(body) as object), generated_at: undefined });
    const equal = strip(after.body) === strip(expected);
    rows.push({
      drill: `log tree of ${(bytes / 1e6).toFixed(0)} MB with a 100,000-deep line, then a file deleted`,
      measured:
        `${(during / baseline).toFixed(1)}× baseline report latency during the ${rebuildS.toFixed(1)} s background rebuild ` +
        `(slowest ${during.toFixed(0)} ms vs ${baseline.toFixed(0)} ms); ${errors} errors; ${malformed} malformed line(s) skipped; ` +
        `afterwards ${equal ? 'equal to' : 'DIFFERENT FROM'} a fresh bridge's report`,
      goal: 'no report waits > 100 ms longer than without a rebuild; the deep line skipped; answers then equal a fresh start',
      ok: during - baseline <= 100 && errors === 0 && malformed >= 1 && equal,
    });
  } finally {
    bridge.child.kill('SIGTERM');
  }
}

/**
 * SQLite shares one connection between every caller. In the gateway's own process (the only way
 * to start a transaction that fails on purpose): 8 event posters, 2 config writers and a loop of
 * transactions that fail on the alerts' unique key, for 10 s. Every acknowledged event must be
 * stored, the config must be the last one acknowledged.
 */
async function drillSqliteInterleave(dir: string): Promise<void> {
  const app = await startTestApp({ DB_SQLITE_PATH: join(dir, 'interleave.sqlite') });
  try {
    const writes = app.app.get(DatabaseWrites);
    const acknowledged: number[] = [];
    let lastPlan = '';
    let failedOnPurpose = 0;
    let stop = false;
    const posters = Array.from({ length: 8 }, async (_, p) => {
      for (let n = 0; !stop; n++) {
        const res = await post(app.url, {
          hook_event_name: 'Notification',
          session_id: `sq-${p}`,
          n,
        });
        if (res.status === 201) acknowledged.push(((await res.json()) as { id: number }).id);
      }
    });
    const plans = ['pro', 'max5', 'max20'];
    const configs = Array.from({ length: 2 }, async (_, c) => {
      for (let n = 0; !stop; n++) {
        const plan = plans[(n + c) % 3];
        const res = await fetch(`${app.url}/api/usage/config`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ plan }),
        });
        if (res.ok) lastPlan = plan;
        await res.body?.cancel();
      }
    });
    const failing = (async () => {
      const alert = {
        key: 'interleave-drill',
        type: 'bridge_failed' as const,
        severity: 'critical' as const,
        title: 't',
        text: 't',
        data: {},
        createdAt: Date.now(),
      };
      await writes.write((m) => m.insert(AlertRecord, alert));
      while (!stop) {
        await writes
          .transaction(async (m) => {
            await sleep(2); // held open while the others write
            await m.insert(AlertRecord, alert); // the unique key: fails, ROLLBACK
          })
          .catch(() => failedOnPurpose++);
      }
    })();
    await sleep(10_000);
    stop = true;
    await Promise.all([...posters, ...configs, failing]);
    const data = app.app.get(DataSource);
    const stored = new Set(
      (await data.getRepository(HookEvent).find({ select: { id: true } })).map((r) => r.id),
    );
    const missing = acknowledged.filter((id) => !stored.has(id)).length;
    const plan = (await data.getRepository(UsageConfigRecord).findOneBy({ id: 1 }))?.plan;
    rows.push({
      drill: 'SQLite: 8 event posters + 2 config writers beside transactions that fail, 10 s',
      measured: `${acknowledged.length} events acknowledged, ${missing} missing; ${failedOnPurpose} transactions rolled back; config ${plan === lastPlan ? 'is' : 'IS NOT'} the last acknowledged (${plan})`,
      goal: '0 acknowledged rows lost',
      ok: missing === 0 && plan === lastPlan && failedOnPurpose > 0,
    });
  } finally {
    await app.close();
  }
}

/**
 * What the database holds of the events answered 201 (Idempotency-Key → id): how many are missing
 * (or stored under another id), how many keys are stored more than once.
 */
async function storedOnce(
  db: TestDatabase,
  accepted: ReadonlyMap<string, number>,
): Promise<{ missing: number; doubled: number }> {
  const client = new Client({ connectionString: db.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows: stored } = await client.query<{
      idempotency_key: string;
      id: number;
      copies: string;
    }>(
      'SELECT idempotency_key, MIN(id) AS id, COUNT(*) AS copies FROM hook_events WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key',
    );
    const byKey = new Map(stored.map((r) => [r.idempotency_key, r]));
    return {
      missing: [...accepted].filter(([key, id]) => Number(byKey.get(key)?.id) !== id).length,
      doubled: stored.filter((r) => Number(r.copies) > 1).length,
    };
  } finally {
    await client.end();
  }
}

async function drillPostgresCut(dir: string, serverUrl: string): Promise<void> {
  const postgres = await postgresBehindProxy(serverUrl);
  const { proxy } = postgres;
  const gw = await Gateway.start(dir, {
    DATABASE_URL: postgres.url,
    BRIDGE_PORT: String(await freePort()),
  });
  try {
    await gw.bridgeReady();
    const accepted = new Map<string, number>();
    let stop = false;
    let failed = 0;
    const posters = Array.from({ length: 8 }, async (_, p) => {
      for (let n = 0; !stop; n++) {
        const key = randomUUID();
        const res = await post(
          gw.url,
          { hook_event_name: 'Notification', session_id: `pg-${p}`, n },
          { 'idempotency-key': key },
        ).catch(() => undefined);
        if (res?.status === 201) accepted.set(key, ((await res.json()) as { id: number }).id);
        else failed++;
        await sleep(10);
      }
    });
    await sleep(2000);
    const cutAt = performance.now();
    await proxy.stop();
    const unready = await waitUntil(
      'ready 503',
      async () => (await fetch(`${gw.url}/health/ready`)).status === 503,
      10_000,
    )
      .then(() => (performance.now() - cutAt) / 1000)
      .catch(() => Number.NaN);
    await sleep(Math.max(0, 5000 - (performance.now() - cutAt)));
    const backAt = performance.now();
    await proxy.start();
    const ready = await waitUntil(
      'ready 200',
      async () => (await fetch(`${gw.url}/health/ready`)).status === 200,
      30_000,
    )
      .then(() => (performance.now() - backAt) / 1000)
      .catch(() => Number.NaN);
    await sleep(1000);
    stop = true;
    await Promise.all(posters);
    const { missing, doubled } = await storedOnce(postgres.db, accepted);
    rows.push({
      drill: 'PostgreSQL cut 5 s under POST /api/events (8 posters)',
      measured: `ready 503 after ${unready.toFixed(2)} s, 200 again ${ready.toFixed(2)} s after the return; ${accepted.size} answered 201 (${failed} refused during the cut): ${missing} missing, ${doubled} stored twice`,
      goal: '503 within 2 s and 200 again by itself; every 201 stored exactly once',
      ok: unready <= 2 && Number.isFinite(ready) && missing === 0 && doubled === 0,
    });
  } finally {
    await gw.stop();
    await postgres.drop();
  }
}

/**
 * A silent partition: PostgreSQL's bytes vanish both ways for 5 s (no FIN, no RST), then the
 * network heals. Writes must be answered (503 + Retry-After) within the query deadline, never
 * hang; readiness must say 503; the write path must come back by itself.
 */
async function drillPostgresPartition(dir: string, serverUrl: string): Promise<void> {
  const postgres = await postgresBehindProxy(serverUrl);
  const { proxy } = postgres;
  const deadlineMs = 5000;
  const gw = await Gateway.start(dir, {
    DATABASE_URL: postgres.url,
    DB_QUERY_TIMEOUT_MS: String(deadlineMs),
    BRIDGE_PORT: String(await freePort()),
  });
  try {
    await gw.bridgeReady();
    const accepted = new Map<string, number>();
    let phase: 'before' | 'partition' | 'healed' = 'before';
    let stop = false;
    let refused = 0;
    let withRetryAfter = 0;
    let slowestDuringMs = 0;
    let firstAcceptedAfterHeal = Number.NaN;
    let healedAt = 0;
    const posters = Array.from({ length: 8 }, async (_, p) => {
      for (let n = 0; !stop; n++) {
        const key = randomUUID();
        const sentIn = phase;
        const t0 = performance.now();
        const res = await post(
          gw.url,
          { hook_event_name: 'Notification', session_id: `part-${p}`, n },
          { 'idempotency-key': key },
        ).catch(() => undefined);
        const ms = performance.now() - t0;
        if (sentIn === 'partition') slowestDuringMs = Math.max(slowestDuringMs, ms);
        if (res?.status === 201) {
          accepted.set(key, ((await res.json()) as { id: number }).id);
          if (phase === 'healed' && Number.isNaN(firstAcceptedAfterHeal))
            firstAcceptedAfterHeal = (performance.now() - healedAt) / 1000;
        } else {
          refused++;
          if (res?.headers.get('retry-after')) withRetryAfter++;
          await res?.body?.cancel();
        }
        await sleep(10);
      }
    });
    await sleep(2000);
    phase = 'partition';
    const cutAt = performance.now();
    proxy.partition();
    const unready = await waitUntil(
      'ready 503',
      async () => (await fetch(`${gw.url}/health/ready`)).status === 503,
      10_000,
    )
      .then(() => (performance.now() - cutAt) / 1000)
      .catch(() => Number.NaN);
    await sleep(Math.max(0, 5000 - (performance.now() - cutAt)));
    healedAt = performance.now();
    proxy.heal();
    phase = 'healed';
    await waitUntil(
      'a write accepted again',
      () => !Number.isNaN(firstAcceptedAfterHeal),
      30_000,
    ).catch(() => undefined);
    await sleep(1000);
    stop = true;
    await Promise.all(posters);
    const { missing } = await storedOnce(postgres.db, accepted);
    rows.push({
      drill: 'PostgreSQL silent partition 5 s (bytes dropped, no FIN/RST), 8 posters',
      measured:
        `slowest answer during it ${(slowestDuringMs / 1000).toFixed(2)} s (deadline ${deadlineMs / 1000} s); ` +
        `${refused} refused (${withRetryAfter} with Retry-After); ready 503 after ${unready.toFixed(2)} s; ` +
        `accepted again ${firstAcceptedAfterHeal.toFixed(2)} s after the heal; ${accepted.size} answered 201: ${missing} missing`,
      goal: 'answered within deadline + 1 s, 503 with Retry-After; readiness 503; accepted ≤ 5 s after the heal; 0 lost',
      ok:
        slowestDuringMs <= deadlineMs + 1000 &&
        refused > 0 &&
        withRetryAfter === refused &&
        unready <= deadlineMs / 1000 &&
        firstAcceptedAfterHeal <= 5 &&
        missing === 0,
    });
  } finally {
    await gw.stop();
    await postgres.drop();
  }
}

async function drillRedisCut(dir: string, redisUrl: string): Promise<void> {
  const target = new URL(redisUrl);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
  await proxy.start();
  const db = await createPostgresDatabase(process.env.TEST_DATABASE_URL as string);
  const env = { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, ...db.env };
  const a = await Gateway.start(join(dir, 'a'), { ...env, BRIDGE_PORT: String(await freePort()) });
  const b = await Gateway.start(join(dir, 'b'), { ...env, BRIDGE_PORT: String(await freePort()) });
  // A Socket.IO and a /stream client on each instance: each must get every acknowledged event.
  const clients = new Map<string, Map<number, number>>();
  const count = (name: string, id: number) => {
    const seen = clients.get(name) as Map<number, number>;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  };
  const sockets = [a, b].map((g, i) => {
    const name = `Socket.IO on ${i ? 'B' : 'A'}`;
    clients.set(name, new Map());
    const socket = io(g.url, {
      transports: ['websocket'],
      reconnection: true,
      reconnectionDelay: 200,
    });
    socket.on('event', (message: { event_id: number }) => count(name, message.event_id));
    return socket;
  });
  const streams = [a, b].map((g, i) => {
    const name = `/stream on ${i ? 'B' : 'A'}`;
    clients.set(name, new Map());
    const ws = new WebSocket(`${g.url.replace('http', 'ws')}/stream`);
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; event_id?: number };
      if (frame.type === 'event') count(name, frame.event_id as number);
    });
    return ws;
  });
  const acknowledged: number[] = [];
  let stop = false;
  const posters = [a, b, a, b].map(async (g, p) => {
    for (let n = 0; !stop; n++) {
      const res = await post(g.url, {
        hook_event_name: 'Notification',
        session_id: `redis-${p}`,
        n,
      }).catch(() => undefined);
      if (res?.status === 201) acknowledged.push(((await res.json()) as { id: number }).id);
      await sleep(50);
    }
  });
  try {
    await waitUntil('clients connected', () => sockets.every((s) => s.connected), 10_000);
    await waitUntil(
      'streams open',
      () => streams.every((w) => w.readyState === WebSocket.OPEN),
      10_000,
    );
    await sleep(2000);
    await proxy.stop();
    await sleep(10_000);
    await proxy.start();
    const redisUp = async (g: Gateway) =>
      (
        (await (await fetch(`${g.url}/health`)).json()) as {
          details?: { redis?: { reachable?: boolean } };
        }
      ).details?.redis?.reachable === true;
    await waitUntil(
      'Redis back on both',
      async () => (await redisUp(a)) && (await redisUp(b)),
      30_000,
    );
    await sleep(3000);
    stop = true;
    await Promise.all(posters);
    await sleep(10_000); // every catch-up pass has run, the last posts have crossed
    const alive = a.child.exitCode === null && b.child.exitCode === null;
    const report = [...clients].map(([name, seen]) => {
      const missing = acknowledged.filter((id) => !seen.has(id)).length;
      const twice = [...seen.values()].filter((c) => c > 1).length;
      return { name, missing, twice };
    });
    rows.push({
      drill:
        'Redis stopped 10 s under two instances (4 posters on A and B; Socket.IO and /stream clients on both)',
      measured: `${alive ? 'both instances up' : 'AN INSTANCE EXITED'}; ${acknowledged.length} acknowledged; ${report.map((r) => `${r.name}: ${r.missing} missing, ${r.twice} twice`).join('; ')}`,
      goal: 'no instance exits; every acknowledged event reaches every connected client',
      ok: alive && acknowledged.length > 0 && report.every((r) => r.missing === 0),
    });
  } finally {
    stop = true;
    for (const socket of sockets) socket.close();
    for (const ws of streams) ws.terminate();
    await a.stop();
    await b.stop();
    await proxy.stop();
    await db.drop();
  }
}

/**
 * An alert receiver down for DRILL_RECEIVER_DOWN_S (default 600) with a gateway restart in the
 * middle. Alerts come from the bridge (BRIDGE_MAX_RESTARTS=0: each kill is `bridge_failed`, its
 * comeback `bridge_recovered`) and the usage limit. Once the receiver is back every alert must
 * arrive; copies only with the same Idempotency-Key.
 */
async function drillAlertOutbox(dir: string): Promise<void> {
  const downS = Number(process.env.DRILL_RECEIVER_DOWN_S ?? 600);
  const receiverPort = await freePort();
  const got: Array<{ id: number; key: string | undefined }> = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({
        id: (JSON.parse(body) as { id: number }).id,
        key: req.headers['idempotency-key'] as string | undefined,
      });
      res.writeHead(204).end();
    });
  });
  const env = {
    BRIDGE_PORT: String(await freePort()),
    BRIDGE_MAX_RESTARTS: '0',
    ALERT_WEBHOOK_URLS: `http://127.0.0.1:${receiverPort}/hook`,
    ALERT_CHECK_INTERVAL_MS: '2000',
  };
  const killBridge = async (gw: Gateway) => {
    const { process: proc } = await gw.bridgeReady(60_000);
    process.kill(proc.pid as number, 'SIGKILL');
    await gw.bridgeReady(60_000, proc.pid as number);
  };
  const downAt = performance.now();
  let gw = await Gateway.start(dir, env);
  try {
    for (let i = 0; i < 3; i++) await killBridge(gw);
    await sleep(Math.max(0, (downS * 1000) / 2 - (performance.now() - downAt)));
    await gw.stop(); // SIGTERM: a clean restart in the middle
    gw = await Gateway.start(dir, env);
    for (let i = 0; i < 2; i++) await killBridge(gw);
    await sleep(Math.max(0, downS * 1000 - (performance.now() - downAt)));
    const listed = (
      (await (await fetch(`${gw.url}/api/alerts?limit=1000`)).json()) as {
        alerts: Array<{ id: number; data: { passed_over?: boolean } }>;
      }
    ).alerts.filter((a) => !a.data.passed_over);
    const backAt = performance.now();
    await new Promise<void>((r) => receiver.listen(receiverPort, '127.0.0.1', r));
    const allIn = await waitUntil(
      'every alert delivered',
      () => listed.every((a) => got.some((g) => g.id === a.id)) || undefined,
      120_000,
    )
      .then(() => (performance.now() - backAt) / 1000)
      .catch(() => Number.NaN);
    await sleep(3000); // late copies, if any
    const missing = listed.filter((a) => !got.some((g) => g.id === a.id)).length;
    const copies = got.length - new Set(got.map((g) => g.id)).size;
    const wrongKey = got.filter((g) => g.key !== String(g.id)).length;
    rows.push({
      drill: `alert receiver down ${downS} s, gateway restarted in the middle`,
      measured: `${listed.length} alerts, all delivered ${allIn.toFixed(1)} s after the receiver came back; ${missing} missing, ${copies} extra copies, ${wrongKey} without the alert id as Idempotency-Key`,
      goal: 'every alert delivered ≤ 75 s after it is back (retries cap at 1 min); copies only with the same key',
      ok: listed.length > 0 && missing === 0 && wrongKey === 0 && allIn <= 75,
    });
  } finally {
    await gw.stop();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  }
}

async function drillGatewayKill(dir: string): Promise<void> {
  const gw = await Gateway.start(dir, { BRIDGE_PORT: String(await freePort()) });
  const { process: proc } = await gw.bridgeReady();
  const answered: number[] = [];
  const posts = Array.from({ length: 200 }, (_, n) =>
    post(
      gw.url,
      { hook_event_name: 'Notification', session_id: 'kill', n },
      { 'idempotency-key': randomUUID() },
    )
      .then(async (res) => {
        if (res.status === 201) answered.push(((await res.json()) as { id: number }).id);
      })
      .catch(() => undefined),
  );
  await waitUntil('some answers', () => answered.length >= 20, 10_000).catch(() => undefined);
  gw.child.kill('SIGKILL');
  await Promise.all(posts);
  await gw.exited;
  const bridgeGone = await waitUntil('bridge gone', () => !isAlive(proc.pid as number), 5000)
    .then(() => true)
    .catch(() => false);
  const sqlite = new Database(join(dir, 'gateway.sqlite'));
  const integrity = sqlite.pragma('integrity_check', { simple: true });
  const ids = new Set(
    (sqlite.prepare('SELECT id FROM hook_events').all() as Array<{ id: number }>).map((r) => r.id),
  );
  sqlite.close();
  const lost = answered.filter((id) => !ids.has(id)).length;
  rows.push({
    drill: 'gateway SIGKILL during 200 concurrent posts (SQLite)',
    measured: `${answered.length} answered 201, ${lost} lost; integrity_check ${String(integrity)}; bridge ${bridgeGone ? 'gone' : 'STILL RUNNING'}`,
    goal: 'every 201 stored; integrity ok; no bridge left',
    ok: lost === 0 && integrity === 'ok' && bridgeGone,
  });
}

async function drillHookSender(dir: string): Promise<void> {
  const port = await freePort();
  const env = {
    USAGE_GATEWAY_URL: `http://127.0.0.1:${port}`,
    USAGE_GATEWAY_SPOOL_DIR: join(dir, 'spool'),
    HOME: dir,
  };
  const event = (n: number) => ({
    hook_event_name: 'PostToolUse',
    session_id: 'spooled',
    cwd: '/w/shop',
    n,
  });
  for (let n = 1; n <= 20; n++) runSender(event(n), env);
  const gw = await Gateway.start(dir, { BRIDGE_PORT: String(await freePort()) }, port);
  try {
    runSender(event(21), env);
    const listed = (await (
      await fetch(`${gw.url}/api/events?session_id=spooled&limit=100`)
    ).json()) as {
      events: Array<{ payload: { n: number } }>;
    };
    const ns = listed.events.map((e) => e.payload.n);
    const inOrder = ns.length === 21 && ns.every((n, i) => n === i + 1);
    rows.push({
      drill: 'gateway down while the hook sender fires 20 events',
      measured: `${ns.length} stored after it returned${inOrder ? ', once each, in order' : `: ${ns.join(',')}`}`,
      goal: 'all 21 once, in order',
      ok: inOrder,
    });
  } finally {
    await gw.stop();
  }
}

async function drillHeap(dir: string): Promise<void> {
  const gw = await Gateway.start(dir, { BRIDGE_PORT: String(await freePort()) });
  try {
    await gw.bridgeReady();
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const fire = async (path: (i: number) => string) => {
      let next = 0;
      let errors = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < QUERIES) {
            const i = next++;
            if ((await timedGet(agent, gw.url + path(i))).status !== 200) errors++;
          }
        }),
      );
      return errors;
    };
    await fire(() => '/api/usage/stats?plan=max5'); // warm-up: JIT, pools, caches
    const start = await gw.heapUsed();
    const sameErrors = await fire(() => '/api/usage/stats?plan=max5');
    const afterSame = await gw.heapUsed();
    const t0 = performance.now();
    const distinctErrors = await fire(
      (i) => `/api/usage/stats?plan=custom&custom_limit_tokens=${100_000 + i}`,
    );
    const seconds = (performance.now() - t0) / 1000;
    const afterDistinct = await gw.heapUsed();
    agent.destroy();
    const mb = (bytes: number) => bytes / 1_048_576;
    const baselineGrowth = mb(afterSame - start);
    const growth = mb(afterDistinct - afterSame);
    rows.push({
      drill: `${QUERIES.toLocaleString('en-US')} distinct stats queries`,
      measured: `heap +${growth.toFixed(1)} MB (baseline, ${QUERIES.toLocaleString('en-US')} identical: +${baselineGrowth.toFixed(1)} MB); ${(QUERIES / seconds).toFixed(0)} queries/s; ${sameErrors + distinctErrors} errors`,
      goal: 'heap growth ≤ 20 MB',
      ok: growth <= 20 && sameErrors + distinctErrors === 0,
    });
  } finally {
    await gw.stop();
  }
}

async function drillAuthMatrix(dir: string): Promise<void> {
  const secret = 'drill-secret-that-is-long-enough-0000';
  const key = 'drill-api-key-0123456789';
  const gw = await Gateway.start(dir, {
    BRIDGE_PORT: String(await freePort()),
    AUTH_JWT_SECRET: secret,
    AUTH_JWT_AUDIENCE: 'usage-gateway',
    API_KEYS: key,
  });
  try {
    const now = Math.floor(Date.now() / 1000);
    const bad: Array<[string, { token?: string; apiKey?: string }]> = [
      ['none', {}],
      ['bad token', { token: await signJwt({ sub: 'a', aud: 'usage-gateway' }, 'y'.repeat(40)) }],
      [
        'expired',
        { token: await signJwt({ sub: 'a', aud: 'usage-gateway', exp: now - 300 }, secret) },
      ],
      ['wrong audience', { token: await signJwt({ sub: 'a', aud: 'other' }, secret) }],
      ['wrong key', { apiKey: 'not-the-key-0123456789' }],
    ];
    let refused = 0;
    let attempts = 0;
    for (const [, cred] of bad) {
      attempts += 3;
      const headers: Record<string, string> = {};
      if (cred.token) headers.authorization = `Bearer ${cred.token}`;
      if (cred.apiKey) headers['x-api-key'] = cred.apiKey;
      if ((await fetch(`${gw.url}/api/events`, { headers })).status === 401) refused++;
      const sio = io(gw.url, {
        transports: ['websocket'],
        reconnection: false,
        auth: { token: cred.token, api_key: cred.apiKey },
      });
      const verdict = await new Promise<string>((resolve) => {
        sio.once('connect', () => resolve('connected'));
        sio.once('connect_error', (e) => resolve(e.message));
      });
      sio.close();
      if (verdict.startsWith('unauthorized')) refused++;
      const query = cred.token
        ? `?token=${cred.token}`
        : cred.apiKey
          ? `?api_key=${cred.apiKey}`
          : '';
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/stream${query}`);
      const streamVerdict = await new Promise<string>((resolve) => {
        ws.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
        ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', room: 'global' })));
        ws.once('close', (code) => resolve(`close ${code}`));
        ws.once('error', () => resolve('error'));
      });
      ws.terminate();
      if (streamVerdict === 'http 401' || streamVerdict === 'close 4401') refused++;
    }
    // A valid reader never receives what is sent to a project its token does not grant.
    const reader = await signJwt(
      { sub: 'alice', aud: 'usage-gateway', projects: ['shop'] },
      secret,
    );
    const sio = io(gw.url, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token: reader },
    });
    const received: string[] = [];
    sio.onAny((name: string) => received.push(name));
    await waitUntil('reader connected', () => sio.connected, 5000);
    await sio.timeout(3000).emitWithAck('subscribe', { room: 'project:bank' });
    await sio.timeout(3000).emitWithAck('subscribe', { room: 'project:shop' });
    const publish = (room: string, name: string) =>
      fetch(`${gw.url}/api/broadcasts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ event_type: `custom.${name}`, room, data: {} }),
      });
    await publish('project:bank', 'forbidden');
    await publish('project:shop', 'sentinel');
    await waitUntil('sentinel', () => received.includes('custom.sentinel'), 5000).catch(
      () => undefined,
    );
    sio.close();
    const leaked = received.filter((r) => r === 'custom.forbidden').length;
    rows.push({
      drill:
        'auth matrix: none/bad/expired/wrong-audience token, wrong key × REST, Socket.IO, /stream',
      measured: `${refused}/${attempts} refused; ${leaked} deliveries from a forbidden room`,
      goal: 'all refused, nothing from a forbidden room',
      ok: refused === attempts && leaked === 0 && received.includes('custom.sentinel'),
    });
  } finally {
    await gw.stop();
  }
}

/**
 * What a DNS-rebinding page gets from the default install (loopback, no credentials, the bridge
 * on its fixed port): its requests carry its own name in Host (and Origin), as a browser sends them.
 */
async function drillRebinding(dir: string): Promise<void> {
  const bridgePort = await freePort();
  const gw = await Gateway.start(dir, { BRIDGE_PORT: String(bridgePort) });
  try {
    await gw.bridgeReady();
    const prompt = `secret prompt ${randomUUID()}`;
    await post(gw.url, { hook_event_name: 'UserPromptSubmit', session_id: 'rb', prompt });
    const port = new URL(gw.url).port;
    const page = (p: string) => ({ host: `evil.example:${p}`, origin: `http://evil.example:${p}` });
    const attempts: Array<Promise<{ status: number; body: string }>> = [
      rawRequest(`${gw.url}/api/events`, { headers: page(port) }),
      rawRequest(`${gw.url}/api/usage/config`, {
        method: 'POST',
        headers: { ...page(port), 'content-type': 'application/json' },
        body: JSON.stringify({ plan: 'max20' }),
      }),
      rawRequest(`${gw.url}/`, { headers: page(port) }),
      rawRequest(`${gw.url}/socket.io/?EIO=4&transport=polling`, { headers: page(port) }),
      rawRequest(`http://127.0.0.1:${bridgePort}/usage/stats`, {
        headers: page(String(bridgePort)),
      }),
      rawRequest(`http://127.0.0.1:${bridgePort}/usage/config`, {
        method: 'POST',
        headers: { ...page(String(bridgePort)), 'content-type': 'application/json' },
        body: JSON.stringify({ plan: 'max20' }),
      }),
    ];
    const stream = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/stream`, { headers: page(port) });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => {
        ws.close();
        resolve(101);
      });
      ws.once('error', () => resolve(0));
    });
    const answers = await Promise.all(attempts);
    const refused = answers.filter((a) => a.status === 403).length + (stream === 403 ? 1 : 0);
    const leaked = answers.filter(
      (a) => a.body.includes(prompt) || a.body.includes('"plan"'),
    ).length;
    const config = (await (await fetch(`${gw.url}/api/usage/config`)).json()) as { plan: string };
    rows.push({
      drill:
        'DNS rebinding: a page on evil.example → the default install (REST, dashboard, both sockets, bridge)',
      measured: `${refused}/${answers.length + 1} refused with 403; ${leaked} answers with data; plan still ${config.plan}`,
      goal: 'all refused, nothing read or changed',
      ok: refused === answers.length + 1 && leaked === 0 && config.plan !== 'max20',
    });
  } finally {
    await gw.stop();
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ug-drills-'));
  const pg = process.env.TEST_DATABASE_URL;
  const redis = process.env.TEST_REDIS_URL;
  const drills: Array<[string, (dir: string) => Promise<void>, string | undefined]> = [
    ['bridge-kill', drillBridgeKill, 'ok'],
    ['bridge-stop', drillBridgeStop, 'ok'],
    ['bridge-hang', drillBridgeHang, 'ok'],
    ['crash-loop', drillCrashLoop, 'ok'],
    ['log-tree', drillLogTree, 'ok'],
    ['postgres-cut', (d) => drillPostgresCut(d, pg as string), pg],
    ['postgres-partition', (d) => drillPostgresPartition(d, pg as string), pg],
    ['redis-cut', (d) => drillRedisCut(d, redis as string), redis && pg],
    ['gateway-kill', drillGatewayKill, 'ok'],
    ['sqlite-interleave', drillSqliteInterleave, 'ok'],
    ['alert-outbox', drillAlertOutbox, 'ok'],
    ['hook-sender', drillHookSender, 'ok'],
    ['heap', drillHeap, 'ok'],
    ['auth', drillAuthMatrix, 'ok'],
    ['rebinding', drillRebinding, 'ok'],
  ];
  try {
    for (const [name, drill, available] of drills) {
      if (ONLY && !ONLY.includes(name)) continue;
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      writeLogs(dir);
      if (!available) {
        rows.push({
          drill: name,
          measured: 'needs TEST_DATABASE_URL / TEST_REDIS_URL',
          goal: '',
          ok: 'skipped',
        });
        continue;
      }
      const started = performance.now();
      process.stderr.write(`drill ${name} …\n`);
      try {
        await drill(dir);
      } catch (error) {
        rows.push({
          drill: name,
          measured: `failed: ${(error as Error).message}`,
          goal: '',
          ok: false,
        });
      }
      process.stderr.write(
        `drill ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  console.log('\n| drill | measured | goal | |\n|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.drill} | ${r.measured} | ${r.goal} | ${r.ok === 'skipped' ? 'skipped' : r.ok ? 'ok' : 'MISSED'} |`,
    );
  const missed = rows.filter((r) => r.ok === false).length;
  console.log(missed ? `\n${missed} drill(s) missed their goal` : '\nevery drill met its goal');
  process.exit(missed ? 1 : 0);
}

void main();
