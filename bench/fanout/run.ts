/**
 * Fan-out of hook events to Socket.IO clients (issue: realtime gateway).
 *
 *   npm run bench:fanout        (builds, then: node -r ./scripts/register-ts.js bench/fanout/run.ts)
 *
 * For each N in BENCH_CLIENTS (default 1000,5000): first the baseline of the same run, bare
 * socket.io on a plain HTTP server (bare-server.js: heap per idle connection and p99 at 20,000
 * deliveries/s), then the gateway, and a line with the gateway / bare ratios. The gateway: the built gateway (`node dist/main.js`,
 * SQLite, no bridge), connects N real socket.io-client sockets from a separate process, measures
 * the server heap per idle connection (full GC before each reading), then POSTs one hook event
 * at the rate that gives 20,000 deliveries/s (every N/20 ms, BENCH_SECONDS, default 10), then
 * one every 10 ms (shorter, see phasesFor; BENCH_INTERVAL_MS overrides both) through
 * /api/events, and prints deliveries/s and p50/p99 end-to-end latency (POST sent → client received).
 * Targets: 5,000 clients connected; p99 <= 150 ms at >= 20,000 deliveries/s; <= 12 KB heap per
 * idle connection. Then (BENCH_CLUSTER_CLIENTS, default 1000; 0 skips) one instance vs two over
 * Redis (BENCH_REDIS_URL, default the local Redis, a random database index), see cluster().
 * Auth is on by default (BENCH_AUTH=false turns it off): every client connects with its own JWT,
 * so the gateway's credential re-checks (expiry watch per socket, the sweep) are in the figures;
 * events are posted with an API key. The bare baseline ignores the credential.
 * BENCH_RUNS (default 1) alternates bare and gateway runs that many times and prints the medians.
 * Under each phase a `server:` line says where the time went in the target process: the POST's
 * answer time, its event-loop delay and its GC pauses (gc-on-signal.js).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/wait';

const ROOT = join(__dirname, '..', '..');
const CLIENT_COUNTS = (process.env.BENCH_CLIENTS ?? '1000,5000').split(',').map(Number);
/**
 * Posting phases: the rate that makes 20,000 deliveries/s, then the issue's one event per 10 ms
 * (N × 100 deliveries/s: past what two cores can deliver for large N, so it runs shorter — the
 * backlog is held in socket buffers — and last, so its backlog cannot spill into the other).
 */
const phasesFor = (n: number) =>
  process.env.BENCH_INTERVAL_MS
    ? [{ interval: Number(process.env.BENCH_INTERVAL_MS), seconds: SECONDS }]
    : [
        { interval: n / 20, seconds: SECONDS },
        { interval: 10, seconds: Math.max(2, Math.round((SECONDS * 1000) / n)) },
      ];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Extra node flags for the gateway, e.g. BENCH_NODE_ARGS=--cpu-prof (a profile on exit). */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Alternating bare / gateway runs per N (the median ratio is the figure). */
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const AUTH = process.env.BENCH_AUTH !== 'false';
const JWT_SECRET = 'bench-fanout-jwt-secret-long-enough-0123';
const API_KEY = 'bench-fanout-api-key-0123456789';
const AUTH_ENV: Record<string, string> = AUTH
  ? { AUTH_JWT_SECRET: JWT_SECRET, API_KEYS: API_KEY }
  : {};
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ask<T>(worker: ChildProcess, cmd: object, reply: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { cmd: string }) => {
      if (message.cmd !== reply) return;
      worker.off('message', onMessage);
      resolve(message as T);
    };
    worker.on('message', onMessage);
    worker.send(cmd);
  });
}

async function heapUsed(gateway: ChildProcess, url: string): Promise<number> {
  gateway.kill('SIGUSR2');
  await sleep(300);
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '));
  return Number(line?.split(' ')[1]);
}

interface PhaseResult {
  readonly deliveriesPerSecond: number;
  readonly p99: number;
}

interface ProcessStats {
  loopDelay: { p50: number; p99: number; max: number };
  gc: { count: number; totalMs: number; maxMs: number; byKind: Record<string, number> };
}

/** What the target process did since the last call (gc-on-signal.js: SIGHUP writes, resets). */
async function processStats(target: ChildProcess, file: string): Promise<ProcessStats | undefined> {
  try {
    rmSync(file, { force: true });
    target.kill('SIGHUP');
    for (let i = 0; i < 50 && !existsSync(file); i++) await sleep(20);
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessStats;
  } catch {
    return undefined;
  }
}

let posted = 0;

/** Posts one event every `interval` ms for `seconds` to `postUrl`; prints and returns the figures. */
async function measurePhase(
  worker: ChildProcess,
  target: { process: ChildProcess; statsFile: string },
  postUrl: string,
  connected: number,
  interval: number,
  seconds: number,
  label = '',
): Promise<PhaseResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const postMs: number[] = [];
  const post = (i: number) =>
    new Promise<number>((resolve) => {
      const sent = now();
      const body = JSON.stringify({
        hook_event_name: 'PostToolUse',
        session_id: `bench-${i % 20}`,
        cwd: '/home/dev/shop',
        tool_name: 'Bash',
        tool_use_id: `toolu_${i}`,
        duration_ms: 42,
        sent_at: now(),
      });
      const req = request(
        `${postUrl}/api/events`,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            ...(AUTH ? { 'x-api-key': API_KEY } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            postMs.push(now() - sent);
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('error', () => resolve(0));
      req.end(body);
    });
  await ask(worker, { cmd: 'start' }, 'started');
  await processStats(target.process, target.statsFile);
  const total = Math.round((seconds * 1000) / interval);
  const posts: Promise<number>[] = [];
  const started = now();
  for (let i = 0; i < total; i++) {
    const wait = started + i * interval - now();
    if (wait > 0) await sleep(wait);
    posts.push(post(posted++));
  }
  const statuses = await Promise.all(posts);
  const postSeconds = (now() - started) / 1000;
  const stats = await processStats(target.process, target.statsFile);
  // Let the last deliveries arrive (stop waiting once nothing more comes in 500 ms).
  let last = -1;
  for (let i = 0; i < 60; i++) {
    await sleep(500);
    const { deliveries } = await ask<{ deliveries: number }>(worker, { cmd: 'peek' }, 'peeked');
    if (deliveries === last || deliveries >= connected * total) break;
    last = deliveries;
  }
  const result = await ask<{
    deliveries: number;
    lastAt: number;
    p50: number;
    p99: number;
    max: number;
  }>(worker, { cmd: 'stop' }, 'stopped');
  agent.destroy();
  const span = (result.lastAt - started) / 1000;
  const rate = Math.round(result.deliveries / span);
  console.log(
    `  ${label}${total} events in ${postSeconds.toFixed(1)} s (${statuses.filter((s) => s === 201).length} accepted), ` +
      `1 every ${interval} ms → ${result.deliveries}/${connected * total} deliveries in ${span.toFixed(1)} s = ` +
      `${rate} deliveries/s; latency p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ` +
      `max ${result.max.toFixed(1)} ms`,
  );
  // Where the time goes on the server: answering the POST (stored, then emitted), and what held
  // its event loop (GC pauses, long tasks) while the events went out.
  const sorted = [...postMs].sort((x, y) => x - y);
  const q = (f: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] ?? NaN;
  if (stats)
    console.log(
      `    server: POST answered p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms; event-loop delay p50 ` +
        `${stats.loopDelay.p50.toFixed(1)} ms, p99 ${stats.loopDelay.p99.toFixed(1)} ms, max ${stats.loopDelay.max.toFixed(1)} ms; ` +
        `GC ${stats.gc.count} pauses, ${stats.gc.totalMs.toFixed(0)} ms in all, longest ${stats.gc.maxMs.toFixed(1)} ms ` +
        `(${Object.entries(stats.gc.byKind)
          .map(([kind, ms]) => `${kind} ${ms.toFixed(0)} ms`)
          .join(', ')})`,
    );
  return { deliveriesPerSecond: rate, p99: result.p99 };
}

function startGateway(port: number, env: Record<string, string>, statsFile: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...NODE_ARGS,
      '--expose-gc',
      '-r',
      join(__dirname, 'gc-on-signal.js'),
      join(ROOT, 'dist', 'main.js'),
    ],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        BRIDGE_MODE: 'off',
        LOG_LEVEL: 'warn',
        // One load generator is one address: the limits stay on (their cost is measured) but high.
        RATE_LIMIT_READS_PER_MIN: '10000000',
        RATE_LIMIT_WRITES_PER_MIN: '10000000',
        ...AUTH_ENV,
        ...env,
        BENCH_STATS_FILE: statsFile,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/** The baseline of the same run: bare socket.io on a plain HTTP server (bare-server.js). */
function startBare(port: number, statsFile: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--expose-gc',
      '-r',
      join(__dirname, 'gc-on-signal.js'),
      join(__dirname, 'bare-server.js'),
      String(port),
    ],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', BENCH_STATS_FILE: statsFile },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

async function waitLive(url: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/health/live`)).ok) return;
    } catch {
      if (i > 200) throw new Error(`gateway at ${url} did not start`);
    }
    await sleep(100);
  }
}

function forkClients(): ChildProcess {
  return fork(join(__dirname, 'clients.ts'), [], {
    execArgv: ['-r', join(ROOT, 'scripts', 'register-ts.js')],
    env: {
      ...process.env,
      ...(AUTH ? { BENCH_JWT_SECRET: JWT_SECRET } : {}),
    },
  });
}

/**
 * One instance vs two over Redis, same clients and rate, in the same run: N clients (half on each
 * instance in the second case), events posted to the first instance at N/20 ms (20,000
 * deliveries/s asked). Target: two instances >= 0.8x the single-instance rate, p99 within +100 ms.
 */
async function cluster(n: number, redisUrl: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ug-bench-cluster-'));
  const db = { DB_SQLITE_PATH: join(dir, 'gateway.sqlite'), WS_MAX_CONNECTIONS: String(n + 100) };
  const procs: ChildProcess[] = [];
  const interval = n / 20;
  try {
    console.log(`cluster: ${n} clients, 1 event every ${interval} ms, Redis ${redisUrl}`);
    const single = await (async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const statsFile = join(dir, 'stats-single.json');
      const gateway = startGateway(port, db, statsFile);
      procs.push(gateway);
      await waitLive(url);
      const worker = forkClients();
      procs.push(worker);
      const { connected } = await ask<{ connected: number }>(
        worker,
        { cmd: 'connect', url, n },
        'connected',
      );
      const result = await measurePhase(
        worker,
        { process: gateway, statsFile },
        url,
        connected,
        interval,
        SECONDS,
        '1 instance:  ',
      );
      worker.send({ cmd: 'close' });
      return result;
    })();
    for (const proc of procs.splice(0)) proc.kill('SIGTERM');
    await sleep(1000);
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const statsFile = join(dir, 'stats-first.json');
    const first = startGateway(ports[0], { ...db, REDIS_URL: redisUrl }, statsFile);
    procs.push(first);
    await waitLive(urls[0]);
    procs.push(
      startGateway(
        ports[1],
        { ...db, REDIS_URL: redisUrl, DB_MIGRATIONS_RUN: 'false' },
        join(dir, 'stats-second.json'),
      ),
    );
    await waitLive(urls[1]);
    const worker = forkClients();
    procs.push(worker);
    const a = await ask<{ connected: number }>(
      worker,
      { cmd: 'connect', url: urls[0], n: n / 2 },
      'connected',
    );
    const b = await ask<{ connected: number }>(
      worker,
      { cmd: 'connect', url: urls[1], n: n / 2 },
      'connected',
    );
    await sleep(500);
    const two = await measurePhase(
      worker,
      { process: first, statsFile },
      urls[0],
      a.connected + b.connected,
      interval,
      SECONDS,
      '2 instances: ',
    );
    worker.send({ cmd: 'close' });
    console.log(
      `  two instances: ${(two.deliveriesPerSecond / single.deliveriesPerSecond).toFixed(2)}x the single-instance rate, ` +
        `p99 ${two.p99 - single.p99 >= 0 ? '+' : ''}${(two.p99 - single.p99).toFixed(1)} ms (target >= 0.8x, p99 within +100 ms)`,
    );
  } finally {
    await sleep(300);
    for (const proc of procs) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

interface TargetFigures {
  readonly marginalKb: number;
  readonly p99At20k: number;
}

/**
 * Connects N clients to one target (the gateway, or the bare baseline), reads the heap per idle
 * connection, then runs the posting phases (the baseline only the 20,000/s one).
 */
async function measureTarget(
  n: number,
  label: string,
  start: (port: number, statsFile: string) => ChildProcess,
  phases: ReadonlyArray<{ interval: number; seconds: number }>,
): Promise<TargetFigures> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const statsFile = join(tmpdir(), `ug-bench-fanout-stats-${port}.json`);
  const target = start(port, statsFile);
  const worker = forkClients();
  try {
    await waitLive(url);
    // Heap: before any client, after a fifth of them, after all (full GC before each reading).
    // Growth / N includes one-time costs (JIT code, pools); the marginal figure between the two
    // readings is what one more idle connection costs.
    const baseline = await heapUsed(target, url);
    const t0 = Date.now();
    const first = Math.round(n / 5);
    const a = await ask<{ connected: number; failed: number }>(
      worker,
      { cmd: 'connect', url, n: first },
      'connected',
    );
    await sleep(500);
    const partial = await heapUsed(target, url);
    const b = await ask<{ connected: number; failed: number }>(
      worker,
      { cmd: 'connect', url, n: n - first },
      'connected',
    );
    const connected = a.connected + b.connected;
    const failed = a.failed + b.failed;
    const connectSeconds = (Date.now() - t0) / 1000;
    await sleep(1000);
    const idle = await heapUsed(target, url);
    const kb = (bytes: number) => (bytes / 1024).toFixed(2);
    const marginal = (idle - partial) / b.connected / 1024;
    console.log(
      `${label} N=${n}: ${connected} connected (${failed} refused) in ${connectSeconds.toFixed(1)} s; ` +
        `server heap ${(baseline / 1048576).toFixed(1)} → ${(partial / 1048576).toFixed(1)} → ` +
        `${(idle / 1048576).toFixed(1)} MB: ${kb((idle - baseline) / connected)} KB per idle ` +
        `connection overall, ${marginal.toFixed(2)} KB marginal`,
    );
    let p99At20k = Number.NaN;
    for (const { interval, seconds } of phases) {
      const result = await measurePhase(
        worker,
        { process: target, statsFile },
        url,
        connected,
        interval,
        seconds,
      );
      if (interval === n / 20) p99At20k = result.p99;
    }
    return { marginalKb: marginal, p99At20k };
  } finally {
    worker.send({ cmd: 'close' });
    await sleep(500);
    worker.kill('SIGKILL');
    target.kill('SIGTERM');
    await new Promise((r) => target.once('exit', r));
  }
}

/**
 * N clients: bare socket.io and the gateway alternate BENCH_RUNS times (bare, gateway, bare, …;
 * the machine's load moves between runs), every run printed, then the medians of the ratios.
 */
async function one(n: number): Promise<void> {
  const heapRatios: number[] = [];
  const p99Ratios: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const dir = mkdtempSync(join(tmpdir(), 'ug-bench-fanout-'));
    try {
      const tag = RUNS > 1 ? ` (run ${run}/${RUNS})` : '';
      const bare = await measureTarget(n, `bare socket.io${tag}`, startBare, [
        { interval: n / 20, seconds: SECONDS },
      ]);
      const gateway = await measureTarget(
        n,
        `gateway${tag}`,
        (port, statsFile) =>
          startGateway(
            port,
            { DB_SQLITE_PATH: join(dir, 'gateway.sqlite'), WS_MAX_CONNECTIONS: String(n + 100) },
            statsFile,
          ),
        phasesFor(n),
      );
      heapRatios.push(gateway.marginalKb / bare.marginalKb);
      p99Ratios.push(gateway.p99At20k / bare.p99At20k);
      console.log(
        `  N=${n}${tag} gateway / bare socket.io: heap per idle connection ${(gateway.marginalKb / bare.marginalKb).toFixed(2)}x ` +
          `(${gateway.marginalKb.toFixed(2)} vs ${bare.marginalKb.toFixed(2)} KB; target <= 12 KB), ` +
          `p99 at 20,000 deliveries/s ${(gateway.p99At20k / bare.p99At20k).toFixed(2)}x ` +
          `(${gateway.p99At20k.toFixed(1)} vs ${bare.p99At20k.toFixed(1)} ms; target <= 150 ms)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (RUNS > 1) {
    const median = (values: number[]) =>
      [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
    console.log(
      `N=${n} over ${RUNS} alternating runs — p99 gateway / bare: median ${median(p99Ratios).toFixed(2)}x ` +
        `(${p99Ratios.map((r) => r.toFixed(2)).join(', ')}; target <= 1.2x); heap per idle connection: ` +
        `median ${median(heapRatios).toFixed(2)}x (${heapRatios.map((r) => r.toFixed(2)).join(', ')})`,
    );
  }
}

async function main(): Promise<void> {
  for (const n of CLIENT_COUNTS) await one(n);
  const clusterClients = Number(process.env.BENCH_CLUSTER_CLIENTS ?? 1000);
  if (clusterClients > 0) {
    const db = 1 + Math.floor(Math.random() * 15);
    await cluster(clusterClients, process.env.BENCH_REDIS_URL ?? `redis://127.0.0.1:6379/${db}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
