/**
 * Fan-out of hook events to Socket.IO clients (issue: realtime gateway).
 *
 *   npm run bench:fanout        (builds, then: node -r ts-node/register bench/fanout/run.ts)
 *
 * For each N in BENCH_CLIENTS (default 1000,5000): starts the built gateway (`node dist/main.js`,
 * SQLite, no bridge), connects N real socket.io-client sockets from a separate process, measures
 * the server heap per idle connection (full GC before each reading), then POSTs one hook event
 * at the rate that gives 20,000 deliveries/s (every N/20 ms, BENCH_SECONDS, default 10), then
 * one every 10 ms (shorter, see phasesFor; BENCH_INTERVAL_MS overrides both) through
 * /api/events, and prints deliveries/s and p50/p99 end-to-end latency (POST sent → client received).
 * Targets: 5,000 clients connected; p99 <= 150 ms at >= 20,000 deliveries/s; <= 12 KB heap per
 * idle connection.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const CLIENT_COUNTS = (process.env.BENCH_CLIENTS ?? '1000,5000').split(',').map(Number);
/**
 * Posting phases: the rate that makes 20,000 deliveries/s, then the one event per 10 ms
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
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

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

async function one(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ug-bench-fanout-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const gateway = spawn(
    process.execPath,
    ['--expose-gc', '-r', join(__dirname, 'gc-on-signal.js'), join(ROOT, 'dist', 'main.js')],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DB_SQLITE_PATH: join(dir, 'gateway.sqlite'),
        BRIDGE_MODE: 'off',
        WS_MAX_CONNECTIONS: String(n + 100),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const worker = fork(join(__dirname, 'clients.ts'), [], {
    execArgv: ['-r', 'ts-node/register'],
    env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
  });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/health/live`)).ok) break;
      } catch {
        if (i > 200) throw new Error('gateway did not start');
      }
      await sleep(100);
    }
    // Heap: before any client, after a fifth of them, after all (full GC before each reading).
    // Growth / N includes one-time costs (JIT code, pools); the marginal figure between the two
    // readings is what one more idle connection costs.
    const baseline = await heapUsed(gateway, url);
    const t0 = Date.now();
    const first = Math.round(n / 5);
    const a = await ask<{ connected: number; failed: number }>(
      worker,
      { cmd: 'connect', url, n: first },
      'connected',
    );
    await sleep(500);
    const partial = await heapUsed(gateway, url);
    const b = await ask<{ connected: number; failed: number }>(
      worker,
      { cmd: 'connect', url, n: n - first },
      'connected',
    );
    const connected = a.connected + b.connected;
    const failed = a.failed + b.failed;
    const connectSeconds = (Date.now() - t0) / 1000;
    await sleep(1000);
    const idle = await heapUsed(gateway, url);
    const kb = (bytes: number) => (bytes / 1024).toFixed(2);
    console.log(
      `N=${n}: ${connected} connected (${failed} refused) in ${connectSeconds.toFixed(1)} s; ` +
        `server heap ${(baseline / 1048576).toFixed(1)} → ${(partial / 1048576).toFixed(1)} → ` +
        `${(idle / 1048576).toFixed(1)} MB: ${kb((idle - baseline) / connected)} KB per idle ` +
        `connection overall, ${kb((idle - partial) / b.connected)} KB marginal (target <= 12 KB)`,
    );

    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const post = (i: number) =>
      new Promise<number>((resolve) => {
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
          `${url}/api/events`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', () => resolve(0));
        req.end(body);
      });
    let offset = 0;
    for (const { interval, seconds } of phasesFor(n)) {
      await ask(worker, { cmd: 'start' }, 'started');
      const total = Math.round((seconds * 1000) / interval);
      const posts: Promise<number>[] = [];
      const started = now();
      for (let i = 0; i < total; i++) {
        const due = started + i * interval;
        const wait = due - now();
        if (wait > 0) await sleep(wait);
        posts.push(post(offset + i));
      }
      const statuses = await Promise.all(posts);
      const postSeconds = (now() - started) / 1000;
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
        firstAt: number;
        lastAt: number;
        p50: number;
        p99: number;
        max: number;
      }>(worker, { cmd: 'stop' }, 'stopped');
      const expected = connected * total;
      const span = (result.lastAt - started) / 1000;
      console.log(
        `  ${total} events in ${postSeconds.toFixed(1)} s (${statuses.filter((s) => s === 201).length} accepted), ` +
          `1 every ${interval} ms → ${result.deliveries}/${expected} deliveries in ${span.toFixed(1)} s = ` +
          `${Math.round(result.deliveries / span)} deliveries/s; latency p50 ${result.p50.toFixed(1)} ms, ` +
          `p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(1)} ms (target p99 <= 150 ms at >= 20,000/s)`,
      );
      offset += total;
    }
    agent.destroy();
  } finally {
    worker.send({ cmd: 'close' });
    await sleep(500);
    worker.kill('SIGKILL');
    gateway.kill('SIGTERM');
    await new Promise((r) => gateway.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  for (const n of CLIENT_COUNTS) await one(n);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
