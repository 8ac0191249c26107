/**
 * The gateway in the request path (issue: the gateway in the request path), against the same
 * local upstream reached directly, measured in the same run:
 *
 *   npm run bench:proxy      (builds, then: node -r ./scripts/register-ts.js bench/proxy/run.ts)
 *
 * A local Messages API streams each answer as Anthropic does (message_start, a ping,
 * BENCH_DELTAS content deltas BENCH_GAP_MS apart — default 20 × 50 ms, a one-second answer —
 * message_delta, message_stop). BENCH_STREAMS (default 200) streams always open: each of as many
 * clients starts its next request when its answer ends (their starts spread over one answer's
 * length), for BENCH_SECONDS (default 8) straight to the upstream (the baseline), then as long
 * through the built gateway (`npm start`'s code, its embedded SQLite, the organisation's key, a
 * member token), alternating for BENCH_RUNS runs (default 5). Per answer: time to first byte (the
 * first byte of its body) and total time. Printed: the added time (gateway − direct) at p50 and p99 of
 * each run and their medians — goal: added p50 ≤ 1 ms, added p99 ≤ 5 ms — ratio first; then the
 * gateway's RSS per open stream (BENCH_STREAMS held open, minus the idle RSS).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { spawnGateway } from '../../test/support/gateway-process';
import { freePort, waitFor } from '../../test/support/wait';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const DELTAS = Number(process.env.BENCH_DELTAS ?? 20);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const STATS_FILE = `/tmp/bench-proxy-stats-${process.pid}.json`;
const KEY = 'bench-proxy-admin-key-0123456789';
const ORG_KEY = 'sk-ant-bench-org-key-0123456789';

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
const pct = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const median = (values: number[]) => pct(values, 0.5);
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** The upstream: an Anthropic-shaped stream per request; `hold: true` in the body keeps it open. */
async function startUpstream() {
  let n = 0;
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { hold?: boolean };
      const id = `${process.pid}-${n++}`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': `req_${id}` });
      res.write(
        event('message_start', {
          type: 'message_start',
          message: {
            id: `msg_${id}`,
            type: 'message',
            role: 'assistant',
            model: 'claude-sonnet-4-5-20250929',
            content: [],
            usage: { input_tokens: 1200, cache_read_input_tokens: 20_000, output_tokens: 1 },
          },
        }),
      );
      res.write(event('ping', { type: 'ping' }));
      if (body.hold) {
        open.add(res);
        res.on('close', () => open.delete(res));
        return;
      }
      let sent = 0;
      const tick = setInterval(() => {
        if (sent++ < DELTAS) {
          res.write(
            event('content_block_delta', {
              type: 'content_block_delta',
              index: 0,
              delta: { type: 'text_delta', text: 'some words of an answer ' },
            }),
          );
          return;
        }
        clearInterval(tick);
        res.write(
          event('message_delta', {
            type: 'message_delta',
            delta: { stop_reason: 'end_turn' },
            usage: { output_tokens: DELTAS * 5 },
          }),
        );
        res.end(event('message_stop', { type: 'message_stop' }));
      }, GAP_MS);
      res.on('close', () => clearInterval(tick));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Timing {
  ttfb: number;
  total: number;
}

/** One streamed request: time to the answer's first body byte, and to its end. */
function stream(agent: http.Agent, base: string, headers: Record<string, string>, hold = false) {
  const body = JSON.stringify({
    model: 'claude-sonnet-4-5-20250929',
    max_tokens: 1024,
    stream: true,
    messages: [{ role: 'user', content: 'Write a few words.' }],
    ...(hold ? { hold: true } : {}),
  });
  return new Promise<Timing & { req: http.ClientRequest }>((resolve, reject) => {
    const started = performance.now();
    let ttfb = 0;
    const req = http.request(
      `${base}/v1/messages`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'anthropic-version': '2023-06-01',
          ...headers,
        },
      },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        res.on('data', () => {
          if (ttfb === 0) {
            ttfb = performance.now() - started;
            if (hold) resolve({ ttfb, total: 0, req });
          }
        });
        res.on('end', () => resolve({ ttfb, total: performance.now() - started, req }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** BENCH_STREAMS clients, each streaming one answer after another for BENCH_SECONDS. */
async function steady(base: string, headers: Record<string, string>): Promise<Timing[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: STREAMS });
  const timings: Timing[] = [];
  const ends = performance.now() + SECONDS * 1000;
  const answerMs = (DELTAS + 1) * GAP_MS;
  try {
    await Promise.all(
      Array.from({ length: STREAMS }, async (_, i) => {
        await new Promise((r) => setTimeout(r, (i * answerMs) / STREAMS));
        while (performance.now() < ends) timings.push(await stream(agent, base, headers));
      }),
    );
    return timings;
  } catch (error) {
    throw new Error(`${base}: ${(error as Error).message}`, { cause: error });
  } finally {
    agent.destroy();
  }
}

async function main() {
  const upstream = await startUpstream();
  const start = async (name: string) =>
    spawnGateway(
      {
        PORT: String(await freePort()),
        API_KEYS: KEY,
        DB_SQLITE_PATH: `/tmp/bench-proxy-${process.pid}-${name}.db`,
        PROXY_ANTHROPIC_URL: upstream.url,
        PROXY_ANTHROPIC_API_KEY: ORG_KEY,
        // BENCH_NODE_ARGS: flags for the gateway's Node (a profile: --cpu-prof --cpu-prof-dir=…).
        ...(process.env.BENCH_NODE_ARGS ? { NODE_OPTIONS: process.env.BENCH_NODE_ARGS } : {}),
        // With BENCH_NODE_ARGS="--require ./bench/fanout/gc-on-signal.js": each gateway phase's
        // event-loop delay and GC, printed per run.
        ...(process.env.BENCH_NODE_ARGS?.includes('gc-on-signal')
          ? { BENCH_STATS_FILE: STATS_FILE }
          : {}),
      },
      { built: true },
    );
  const memberOf = async (url: string) =>
    (
      (await (
        await fetch(`${url}/api/team/members`, {
          method: 'POST',
          headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'bench' }),
        })
      ).json()) as { token: string }
    ).token;
  const gateway = await start('latency');
  try {
    const url = await gateway.listening;
    const through = { authorization: `Bearer ${await memberOf(url)}` };
    const direct = { 'x-api-key': ORG_KEY };
    console.log(
      `proxy bench: ${STREAMS} streams always open, answers of ${DELTAS} deltas ${GAP_MS} ms apart, ${SECONDS} s a phase, ${RUNS} runs alternating (direct, gateway, …); gateway ${url}, upstream ${upstream.url}`,
    );
    // Warm-up (JIT, connections, the member token's cache), not counted.
    await steady(upstream.url, direct);
    await steady(url, through);

    const added = {
      ttfb50: [] as number[],
      ttfb99: [] as number[],
      total50: [] as number[],
      total99: [] as number[],
    };
    const rows: string[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const base = await steady(upstream.url, direct);
      // (SIGHUP only where gc-on-signal handles it: it would end the process otherwise.)
      if (process.env.BENCH_NODE_ARGS?.includes('gc-on-signal')) gateway.child.kill('SIGHUP');
      const ours = await steady(url, through);
      let server = '';
      if (process.env.BENCH_NODE_ARGS?.includes('gc-on-signal')) {
        gateway.child.kill('SIGHUP');
        await waitFor(() => existsSync(STATS_FILE), 5000);
        await new Promise((r) => setTimeout(r, 200));
        server = ` — gateway: ${readFileSync(STATS_FILE, 'utf8')}`;
        rmSync(STATS_FILE, { force: true });
      }
      const stat = (t: Timing[], key: keyof Timing, q: number) =>
        pct(
          t.map((x) => x[key]),
          q,
        );
      const d = {
        ttfb50: stat(ours, 'ttfb', 0.5) - stat(base, 'ttfb', 0.5),
        ttfb99: stat(ours, 'ttfb', 0.99) - stat(base, 'ttfb', 0.99),
        total50: stat(ours, 'total', 0.5) - stat(base, 'total', 0.5),
        total99: stat(ours, 'total', 0.99) - stat(base, 'total', 0.99),
      };
      for (const k of Object.keys(d) as (keyof typeof d)[]) added[k].push(d[k]);
      rows.push(
        `  run ${run} (${base.length} / ${ours.length} answers): TTFB p50 ${stat(base, 'ttfb', 0.5).toFixed(2)} → ${stat(ours, 'ttfb', 0.5).toFixed(2)} ms, ` +
          `p99 ${stat(base, 'ttfb', 0.99).toFixed(2)} → ${stat(ours, 'ttfb', 0.99).toFixed(2)} ms; ` +
          `total p50 ${stat(base, 'total', 0.5).toFixed(2)} → ${stat(ours, 'total', 0.5).toFixed(2)} ms, ` +
          `p99 ${stat(base, 'total', 0.99).toFixed(2)} → ${stat(ours, 'total', 0.99).toFixed(2)} ms${server}`,
      );
    }
    console.log(
      `\nadded by the gateway (median of ${RUNS} runs): TTFB p50 ${median(added.ttfb50).toFixed(2)} ms, p99 ${median(added.ttfb99).toFixed(2)} ms; ` +
        `total p50 ${median(added.total50).toFixed(2)} ms, p99 ${median(added.total99).toFixed(2)} ms   (goal: p50 ≤ 1 ms, p99 ≤ 5 ms)`,
    );
    console.log('direct → through the gateway, per run:');
    for (const row of rows) console.log(row);

    gateway.child.kill('SIGTERM');
    await gateway.exited;

    // RSS per open stream, on a gateway of its own (the one above keeps what the load grew):
    // warmed by a few answers, idle, then STREAMS held open.
    const fresh = await start('rss');
    try {
      const freshUrl = await fresh.listening;
      const headers = { authorization: `Bearer ${await memberOf(freshUrl)}` };
      const warm = new http.Agent({ keepAlive: true });
      for (let i = 0; i < 20; i++) await stream(warm, freshUrl, headers);
      warm.destroy();
      await new Promise((r) => setTimeout(r, 1000));
      const idle = rssMb(fresh.child.pid!);
      const agent = new http.Agent({ keepAlive: true, maxSockets: STREAMS });
      const held = await Promise.all(
        Array.from({ length: STREAMS }, () => stream(agent, freshUrl, headers, true)),
      );
      await waitFor(() => upstream.open.size >= STREAMS, 10_000, 'every stream open upstream');
      await new Promise((r) => setTimeout(r, 500));
      const busy = rssMb(fresh.child.pid!);
      console.log(
        `\nRSS (a gateway of its own): ${idle.toFixed(1)} MB idle, ${busy.toFixed(1)} MB with ${STREAMS} streams open: ${(((busy - idle) * 1024) / STREAMS).toFixed(1)} KB per open stream`,
      );
      for (const h of held) h.req.destroy();
      agent.destroy();
    } finally {
      fresh.child.kill('SIGTERM');
      await fresh.exited;
    }
  } finally {
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    await upstream.close();
    for (const name of ['latency', 'rss'])
      for (const end of ['', '-wal', '-shm'])
        rmSync(`/tmp/bench-proxy-${process.pid}-${name}.db${end}`, { force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
