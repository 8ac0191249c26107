/**
 * Usage API throughput and fallback (issue: usage API), with autocannon against real processes.
 *
 *   npm run bench:usage-api          (builds, then: node -r ./scripts/register-ts.js bench/usage-api/run.ts)
 *
 * Writes a synthetic Claude Code log tree (~20 MB, 25 days), starts gateway A (`node dist/main.js`,
 * SQLite, spawned bridge, USAGE_CACHE_TTL_MS=0, no restarts) and gateway B (cache on, external
 * mode on A's bridge), then in one run prints requests/s and p50/p99 of:
 *   (a) the bridge's /usage/stats directly vs gateway A's /api/usage/stats (cache off), for one
 *       URL (concurrent identical calls may share an upstream call; target >= 0.8x, p99 within
 *       +5 ms) and for distinct URLs (every request is its own upstream call: the pure proxy
 *       cost; BENCH_PAIRS alternating runs, default 3, the median ratio; target >= 0.6x).
 *   (b) gateway B with the cache on, as a multiple of direct;
 *   (d) upstream calls gateway B makes during a 1,000-request burst that starts just after its
 *       cache entry expired (target <= 2);
 *   (c) the bridge killed, breaker open: gateway A answering from its stored snapshot.
 * BENCH_SECONDS (default 10) and BENCH_CONNECTIONS (default 10) tune (a)–(c); BENCH_NODE_ARGS adds
 * node flags to the gateways (`--cpu-prof --cpu-prof-dir=DIR`: a profile each, written on exit).
 */
import autocannon, { type Result } from 'autocannon';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/wait';

const ROOT = join(__dirname, '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const QUERY = 'plan=max5';
/** Alternating runs of the bare bridge and the gateway on distinct URLs (the median is reported). */
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3);
/** Extra node flags for the gateways, e.g. BENCH_NODE_ARGS=--cpu-prof to see where time goes. */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** What gateway A sends the bridge for QUERY with the default config (same bytes back). */
const BRIDGE_QUERY = 'plan=max5&timezone=UTC';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Gateway {
  readonly url: string;
  readonly child: ChildProcess;
}

async function startGateway(name: string, env: Record<string, string>): Promise<Gateway> {
  const port = await freePort();
  const child = spawn(process.execPath, [...NODE_ARGS, join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      // One load generator is one address: the limits stay on (their cost is measured) but high.
      RATE_LIMIT_READS_PER_MIN: '10000000',
      RATE_LIMIT_WRITES_PER_MIN: '10000000',
      ...env,
    },
    // Logs (one line per request at the default level) go nowhere, as to a log shipper.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`gateway ${name}`, async () =>
    (await fetch(`${url}/health/live`)).ok ? 1 : undefined,
  );
  return { url, child };
}

async function run(title: string, opts: autocannon.Options): Promise<Result> {
  const result = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...opts });
  const bad = result.non2xx + result.errors + result.timeouts;
  console.log(
    `${title.padEnd(52)} ${result.requests.average.toFixed(0).padStart(6)} req/s   p50 ${result.latency.p50} ms   p99 ${result.latency.p99} ms${bad ? `   (${bad} failed)` : ''}`,
  );
  return result;
}

/** Distinct requests, so no two concurrent ones can share an upstream call. */
function distinct(base: string, extra = ''): autocannon.Options {
  let n = 0;
  return {
    url: base,
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          path: `${req.path}&custom_limit_tokens=${1000 + (n++ % 1_000_000)}${extra}`,
        }),
      },
    ],
  };
}

async function upstreamCalls(gateway: Gateway): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('bridge_requests_total{') && line.includes('route="/usage/stats"'))
      total += Number(line.split(' ').at(-1));
  return total;
}

async function sourceOf(url: string): Promise<string | null> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.headers.get('x-data-source');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ug-bench-api-'));
  const gateways: Gateway[] = [];
  try {
    execFileSync('python3', [
      join(ROOT, 'bench', 'bridge-scan', 'generate.py'),
      join(dir, 'claude'),
      '--bytes',
      '2e7',
      '--files',
      '40',
    ]);
    const common = {
      CLAUDE_CONFIG_DIR: join(dir, 'claude'),
      BRIDGE_STATE_DIR: join(dir, 'state'),
    };
    const a = await startGateway('A', {
      ...common,
      DB_SQLITE_PATH: join(dir, 'a.sqlite'),
      BRIDGE_MODE: 'spawn',
      BRIDGE_PORT: String(await freePort()),
      BRIDGE_AUTO_RESTART: 'false',
      USAGE_CACHE_TTL_MS: '0',
    });
    gateways.push(a);
    const status = await waitFor('bridge ready', async () => {
      const s = (await (await fetch(`${a.url}/api/usage/bridge/status`)).json()) as {
        url: string;
        process: { state: string; pid: number };
      };
      return s.process.state === 'ready' ? s : undefined;
    });
    const b = await startGateway('B', {
      ...common,
      DB_SQLITE_PATH: join(dir, 'b.sqlite'),
      BRIDGE_MODE: 'external',
      USAGE_BRIDGE_URL: status.url,
      USAGE_CACHE_TTL_MS: '1000',
    });
    gateways.push(b);
    const body = await (await fetch(`${status.url}/usage/stats?${BRIDGE_QUERY}`)).text();
    const blocks = (JSON.parse(body) as { recent_sessions: unknown[] }).recent_sessions.length;
    console.log(
      `bridge ${status.url} (pid ${status.process.pid}): /usage/stats answers ${body.length} bytes (${blocks} recent blocks)\n` +
        `gateway A ${a.url} (cache off), gateway B ${b.url} (cache 1000 ms); ${CONNECTIONS} connections, ${SECONDS} s per run\n`,
    );

    // Warm-up: JIT, keep-alive pools, the bridge's first scan.
    await autocannon({
      url: `${status.url}/usage/stats?${BRIDGE_QUERY}`,
      duration: 2,
      connections: CONNECTIONS,
    });
    await autocannon({
      url: `${a.url}/api/usage/stats?${QUERY}`,
      duration: 2,
      connections: CONNECTIONS,
    });
    await autocannon({
      url: `${b.url}/api/usage/stats?${QUERY}`,
      duration: 2,
      connections: CONNECTIONS,
    });
    await autocannon({
      duration: 2,
      connections: CONNECTIONS,
      ...distinct(`${a.url}/api/usage/stats?plan=custom`),
    });

    console.log('(a) cache off');
    const direct = await run('bridge /usage/stats, one URL', {
      url: `${status.url}/usage/stats?${BRIDGE_QUERY}`,
    });
    const proxied = await run('gateway A /api/usage/stats, one URL', {
      url: `${a.url}/api/usage/stats?${QUERY}`,
    });
    // Distinct URLs: the bare bridge and gateway A alternate PAIRS times (the machine's load
    // moves between runs); the median of the pairs' ratios is the figure.
    const before = await upstreamCalls(a);
    const pairs: Array<{ direct: Result; proxied: Result }> = [];
    for (let i = 0; i < PAIRS; i++) {
      const d = await run(
        `bridge /usage/stats, distinct URLs #${i + 1}`,
        distinct(`${status.url}/usage/stats?plan=custom`, '&timezone=UTC'),
      );
      const p = await run(
        `gateway A /api/usage/stats, distinct URLs #${i + 1}`,
        distinct(`${a.url}/api/usage/stats?plan=custom`),
      );
      pairs.push({ direct: d, proxied: p });
    }
    const upstream = (await upstreamCalls(a)) - before;
    const proxiedTotal = pairs.reduce((sum, pair) => sum + pair.proxied.requests.total, 0);
    const ratio = (p: Result, d: Result) => (p.requests.average / d.requests.average).toFixed(2);
    const ratios = pairs
      .map((pair) => pair.proxied.requests.average / pair.direct.requests.average)
      .sort((x, y) => x - y);
    const p99s = pairs
      .map((pair) => pair.proxied.latency.p99 - pair.direct.latency.p99)
      .sort((x, y) => x - y);
    const median = <T>(values: T[]) => values[Math.floor(values.length / 2)];
    const signed = (n: number) => `${n >= 0 ? '+' : ''}${n}`;
    console.log(
      `    one URL:       ${ratio(proxied, direct)}x direct, p99 ${signed(proxied.latency.p99 - direct.latency.p99)} ms  (target >= 0.8x, p99 <= +5 ms)`,
    );
    console.log(
      `    distinct URLs: ${median(ratios).toFixed(2)}x direct (median of ${PAIRS} alternating pairs: ${ratios.map((r) => r.toFixed(2)).join(', ')}), p99 ${signed(median(p99s))} ms  (target >= 0.6x; ${upstream} upstream calls for ${proxiedTotal} requests)`,
    );

    console.log('(b) cache on (1000 ms)');
    const cached = await run('gateway B /api/usage/stats, one URL', {
      url: `${b.url}/api/usage/stats?${QUERY}`,
    });
    console.log(`    ${ratio(cached, direct)}x direct`);

    console.log('(d) 1,000-request burst on gateway B just after its cache entry expired');
    await sleep(1100);
    const burstBefore = await upstreamCalls(b);
    const burst = await autocannon({
      url: `${b.url}/api/usage/stats?${QUERY}`,
      amount: 1000,
      connections: 100,
    });
    const burstCalls = (await upstreamCalls(b)) - burstBefore;
    console.log(
      `    ${burst.requests.total} requests (${burst.non2xx + burst.errors} failed) in ${burst.duration.toFixed(2)} s, p99 ${burst.latency.p99} ms: ${burstCalls} upstream call(s) (target <= 2)`,
    );

    console.log('(c) bridge killed, breaker open, gateway A answers from the snapshot store');
    process.kill(status.process.pid, 'SIGKILL');
    await waitFor('breaker open', async () => {
      await fetch(`${a.url}/api/usage/stats?${QUERY}`).then((r) => r.arrayBuffer());
      const s = (await (await fetch(`${a.url}/api/usage/bridge/status`)).json()) as {
        circuit: { state: string };
      };
      return s.circuit.state === 'open' ? true : undefined;
    });
    const source = await sourceOf(`${a.url}/api/usage/stats?${QUERY}`);
    const fallback = await run(`gateway A /api/usage/stats (X-Data-Source: ${source})`, {
      url: `${a.url}/api/usage/stats?${QUERY}`,
    });
    console.log(
      `    ${ratio(fallback, direct)}x the live bridge's rate; breaker still ${((await (await fetch(`${a.url}/api/usage/bridge/status`)).json()) as { circuit: { state: string } }).circuit.state}; source after: ${await sourceOf(`${a.url}/api/usage/stats?${QUERY}`)}`,
    );
  } finally {
    for (const gateway of gateways.reverse()) gateway.child.kill('SIGTERM');
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
