/**
 * BridgeClient overhead and fail-fast latency (issue: bridge module).
 *
 *   npm run bench:bridge-client            (or: node -r ./scripts/register-ts.js bench/bridge-client/run.ts)
 *
 * Starts the real Python bridge, then in one run prints calls/s and p50/p99 of (a) plain
 * `http.get` with a keep-alive agent and (b) the same calls through BridgeClient (retry, breaker,
 * deadline, metrics), both at the same concurrency, distinct URLs so nothing is coalesced; then
 * (c) the latency of calls while the breaker is open. Targets: (b) >= 0.8x (a); (c) p99 <= 1 ms.
 * (d) the same BridgeClient on axios through @nestjs/axios's HttpService (keep-alive agent), the
 * transport docs/design.md names: it replaces node:http only if it reaches >= 0.8x of (b).
 */
import 'reflect-metadata';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DomainEvents } from '../../src/common/domain-events';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { HttpService } from '@nestjs/axios';
import axios, { isAxiosError } from 'axios';
import { Registry } from 'prom-client';
import { firstValueFrom } from 'rxjs';
import { BridgeClient } from '../../src/bridge/bridge-client';
import { BridgeHealthProbe } from '../../src/bridge/bridge-health.probe';
import { BridgeMetrics } from '../../src/bridge/bridge-metrics';
import { BridgeStatusPublisher } from '../../src/bridge/bridge-status.publisher';
import type { BridgeSupervisor } from '../../src/bridge/bridge-supervisor';
import {
  BridgeTransport,
  TransportError,
  type TransportRequest,
  type TransportResponse,
} from '../../src/bridge/bridge-transport';
import { loadConfig } from '../../src/config/load-config';

const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROOT = join(__dirname, '..', '..');

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function measure(label: string, call: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) {
        const i = next++;
        const t0 = performance.now();
        await call(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const rate = CALLS / seconds;
  console.log(
    `${label.padEnd(34)} ${rate.toFixed(0).padStart(6)} calls/s   p50 ${percentile(latencies, 0.5).toFixed(3)} ms   p99 ${percentile(latencies, 0.99).toFixed(3)} ms`,
  );
  return rate;
}

/** The transport on axios via Nest's HttpService, as docs/design.md §2 first named it. */
class AxiosTransport {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64, noDelay: true });
  private readonly http = new HttpService(
    // @nestjs/axios sees axios's ESM typings, this CommonJS file its CJS ones: the same instance.
    axios.create({
      httpAgent: this.agent,
      validateStatus: () => true,
      responseType: 'json',
    }) as unknown as ConstructorParameters<typeof HttpService>[0],
  );

  async request<T>(req: TransportRequest): Promise<TransportResponse<T>> {
    try {
      const res = await firstValueFrom(
        this.http.request<T>({
          method: req.method,
          url: req.url,
          data: req.body,
          signal: req.signal,
          timeout: req.timeoutMs,
        }),
      );
      return { status: res.status, data: res.data };
    } catch (error) {
      const code = isAxiosError(error) ? (error.code ?? 'UNKNOWN') : 'UNKNOWN';
      throw new TransportError(String(error), code === 'ECONNABORTED' ? 'ETIMEDOUT' : code);
    }
  }

  onModuleDestroy(): void {
    this.agent.destroy();
  }
}

function clientFor(
  url: string,
  transport: BridgeTransport | AxiosTransport,
  retries = '2',
): BridgeClient {
  const config = loadConfig({
    BRIDGE_MODE: 'external',
    USAGE_BRIDGE_URL: url,
    USAGE_BRIDGE_RETRIES: retries,
  });
  const supervisor = {
    supervises: false,
    baseUrl: undefined,
    getStatus: () => ({ state: 'external', pid: null }),
  };
  return new BridgeClient(
    config,
    transport as BridgeTransport,
    supervisor as unknown as BridgeSupervisor,
    new BridgeStatusPublisher(new DomainEvents(new EventEmitter2()), () => Date.now()),
    new BridgeMetrics(new Registry()),
    new BridgeHealthProbe(transport as BridgeTransport),
    () => Date.now(),
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ug-bench-client-'));
  const bridge: ChildProcess = spawn(
    'python3',
    [join(ROOT, 'bridge', 'usage_bridge.py'), '--port', '0', '--data-dir', dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: bridge.stdout! }).once('line', resolve),
    );
    const url = /http:\/\/\S+/.exec(line)![0];
    console.log(
      `bridge at ${url}; ${CALLS} calls of GET /usage/config?n=<i>, concurrency ${CONCURRENCY}`,
    );

    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const plainGet = (i: number) =>
      new Promise<void>((resolve, reject) => {
        get(`${url}/usage/config?n=${i}`, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        }).on('error', reject);
      });
    const transport = new BridgeTransport();
    const client = clientFor(url, transport);

    const axiosTransport = new AxiosTransport();
    const onAxios = clientFor(url, axiosTransport);

    await measure('warm-up (plain)', plainGet);
    await measure('warm-up (BridgeClient)', (i) => client.get('/usage/config', { n: i }));
    await measure('warm-up (BridgeClient on axios)', (i) => onAxios.get('/usage/config', { n: i }));
    const plain = await measure('plain http.get', plainGet);
    const through = await measure('BridgeClient.get', (i) => client.get('/usage/config', { n: i }));
    const viaAxios = await measure('BridgeClient.get on axios', (i) =>
      onAxios.get('/usage/config', { n: i }),
    );
    console.log(`BridgeClient / plain: ${(through / plain).toFixed(2)}x (target >= 0.8x)`);
    console.log(
      `on axios / on node:http: ${(viaAxios / through).toFixed(2)}x (axios replaces node:http at >= 0.8x); on axios / plain: ${(viaAxios / plain).toFixed(2)}x`,
    );
    axiosTransport.onModuleDestroy();

    const dead = clientFor('http://127.0.0.1:9', transport, '0');
    for (let i = 0; i < 5; i++) await dead.get('/usage/stats', { i }).catch(() => undefined);
    console.log(`dead upstream breaker: ${dead.upstreamStatus()[0].circuit}`);
    const openLatencies: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const t0 = performance.now();
      await dead.get('/usage/stats', { i }).catch(() => undefined);
      openLatencies.push(performance.now() - t0);
    }
    openLatencies.sort((a, b) => a - b);
    console.log(
      `breaker open, 10000 calls:  p50 ${percentile(openLatencies, 0.5).toFixed(4)} ms   p99 ${percentile(openLatencies, 0.99).toFixed(4)} ms   max ${openLatencies.at(-1)!.toFixed(3)} ms (target p99 <= 1 ms)`,
    );
    agent.destroy();
    transport.onModuleDestroy();
  } finally {
    bridge.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

void main();
