/**
 * The dashboard's figures (issue: dashboard), in Debian's Chromium against the built gateway and
 * its real bridge, each with a baseline measured in the same run:
 *
 *   npm run bench:dashboard        (builds, then: node -r ./scripts/register-ts.js bench/dashboard/run.ts)
 *
 *   - JavaScript for the first view, gzipped (target <= 150 KB); baseline: socket.io-client's own
 *     minified bundle, gzipped.
 *   - navigation -> current block and timeline filled, localhost (target <= 1 s); baseline: the
 *     same browser loading /health/live.
 *   - a hook event posted over REST -> its row on screen (target <= 1 s); baseline: the POST.
 *   - frame time while 100 events/s arrive for BENCH_SECONDS (default 30) s, p95 (target
 *     <= 16 ms); baseline: the same page idle for 5 s.
 *   - JS heap after 20,000 events (target <= 60 MB, flat after the first 5,000); baseline: the
 *     page's heap before any event. Heap read after a forced GC (CDP).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../../test/support/chromium';
import { spawnGateway } from '../../test/support/gateway-process';
import { writeUsageLog } from '../../test/support/usage-logs';
import { freePort } from '../../test/support/wait';

const ROOT = join(__dirname, '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const pct = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

async function post(url: string, n: number, session: string): Promise<void> {
  const res = await fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      hook_event_name: n % 3 ? 'PreToolUse' : 'PostToolUse',
      session_id: session,
      tool_name: 'Bash',
      tool_input: { command: `npm test -- --shard ${n}` },
    }),
  });
  if (res.status !== 201) throw new Error(`POST /api/events answered ${res.status}`);
}

/** Frame intervals (ms) measured in the page with requestAnimationFrame for `ms`. */
function frames(page: Page, ms: number): Promise<number[]> {
  // Runs in the page (a string: the bench is compiled without the DOM's types).
  return page.evaluate<number[]>(`new Promise((resolve) => {
    const gaps = [];
    let last = performance.now();
    const end = last + ${ms};
    const tick = (t) => {
      gaps.push(t - last);
      last = t;
      if (t < end) requestAnimationFrame(tick);
      else resolve(gaps);
    };
    requestAnimationFrame(tick);
  })`);
}

async function heapMb(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  await cdp.detach();
  return usedSize / 1024 / 1024;
}

async function main() {
  // -- bundle -------------------------------------------------------------------------------------
  const assets = join(ROOT, 'dist', 'web', 'assets');
  const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
  const gz = js.reduce((n, f) => n + gzipSync(readFileSync(join(assets, f))).length, 0);
  const sio = gzipSync(
    readFileSync(join(ROOT, 'node_modules', 'socket.io-client', 'dist', 'socket.io.min.js')),
  ).length;
  console.log(
    `RATIO first-view JS vs target 150 KB: ${(gz / 1024 / 150).toFixed(2)}x (${kb(gz)} gzipped in ${js.length} file(s)); baseline socket.io-client alone ${kb(sio)}`,
  );

  // -- gateway ------------------------------------------------------------------------------------
  const dir = mkdtempSync(join(tmpdir(), 'ug-bench-dashboard-'));
  writeUsageLog(join(dir, 'claude'), {
    start: Date.now() - 60 * 60_000,
    count: 30,
    everyMs: 2 * 60_000,
    usage: (i) => ({ input_tokens: 100 + i, output_tokens: 400, cache_read_input_tokens: 3000 }),
  });
  const gateway = spawnGateway(
    {
      PORT: String(await freePort()),
      DB_SQLITE_PATH: join(dir, 'gateway.sqlite'),
      BRIDGE_MODE: 'spawn',
      BRIDGE_PORT: '0',
      BRIDGE_STATE_DIR: join(dir, 'bridge'),
      CLAUDE_CONFIG_DIR: join(dir, 'claude'),
      HOME: dir,
    },
    { built: true },
  );
  const url = await gateway.listening;
  for (;;) {
    const status = (await (await fetch(`${url}/api/usage/bridge/status`)).json()) as {
      process: { state: string };
    };
    if (status.process.state === 'ready') break;
    await sleep(100);
  }
  for (let i = 0; i < 60; i++) await post(url, i, `bench-${i % 5}`);
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();

    // -- navigation -------------------------------------------------------------------------------
    const loads: number[] = [];
    const bases: number[] = [];
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      await page.goto(`${url}/health/live`);
      bases.push(performance.now() - t);
      t = performance.now();
      await page.goto(url);
      await page.waitForSelector('[data-test=tokens]');
      await page.waitForSelector('[data-event-id]');
      loads.push(performance.now() - t);
    }
    console.log(
      `RATIO navigation -> block and timeline filled vs target 1 s: ${(pct(loads, 0.5) / 1000).toFixed(2)}x (median ${pct(loads, 0.5).toFixed(0)} ms, max ${Math.max(...loads).toFixed(0)} ms of 5); baseline /health/live ${pct(bases, 0.5).toFixed(0)} ms`,
    );

    // -- a posted event -> its row on screen -------------------------------------------------------
    const shown: number[] = [];
    const rest: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const res = await fetch(`${url}/api/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          hook_event_name: 'Notification',
          session_id: 'latency',
          message: `m${i}`,
        }),
      });
      const { id } = (await res.json()) as { id: number };
      rest.push(performance.now() - t);
      await page.waitForSelector(`[data-event-id="${id}"]`, { timeout: 10_000 });
      shown.push(performance.now() - t);
    }
    console.log(
      `RATIO posted event -> row on screen vs target 1 s: ${(pct(shown, 0.99) / 1000).toFixed(2)}x at p99 (p50 ${pct(shown, 0.5).toFixed(0)} ms, p99 ${pct(shown, 0.99).toFixed(0)} ms of 20); baseline the POST alone p50 ${pct(rest, 0.5).toFixed(0)} ms`,
    );

    // -- frames while events arrive ----------------------------------------------------------------
    const idle = await frames(page, 5000);
    let sent = 0;
    let stop = false;
    const feeder = (async () => {
      const started = Date.now();
      while (!stop) {
        const due = Math.floor(((Date.now() - started) / 1000) * 100);
        const batch: Promise<void>[] = [];
        while (sent < due) batch.push(post(url, sent++, `live-${sent % 8}`));
        await Promise.all(batch);
        await sleep(10);
      }
    })();
    const busy = await frames(page, SECONDS * 1000);
    stop = true;
    await feeder;
    console.log(
      `RATIO frame time p95 at 100 events/s vs target 16 ms: ${(pct(busy, 0.95) / 16).toFixed(2)}x (p95 ${pct(busy, 0.95).toFixed(1)} ms, p99 ${pct(busy, 0.99).toFixed(1)} ms, ${busy.length} frames, ${sent} events in ${SECONDS} s); baseline idle p95 ${pct(idle, 0.95).toFixed(1)} ms`,
    );

    // -- heap after 20,000 events --------------------------------------------------------------------
    await page.reload();
    await page.waitForSelector('[data-event-id]');
    const before = await heapMb(page);
    const samples: string[] = [];
    let posted = 0;
    for (const target of [5000, 10_000, 20_000]) {
      while (posted < target) {
        const batch = Array.from({ length: Math.min(50, target - posted) }, () =>
          post(url, posted++, `heap-${posted % 8}`),
        );
        await Promise.all(batch);
      }
      const kept = Math.min(5000, posted + 60);
      await page
        .waitForFunction(
          `document.querySelector('[data-test=event-count]')?.textContent?.includes('${kept} kept')`,
          undefined,
          { timeout: 60_000 },
        )
        .catch(() => undefined);
      samples.push(`${target}: ${(await heapMb(page)).toFixed(1)} MB`);
    }
    const after = await heapMb(page);
    console.log(
      `RATIO JS heap after 20,000 events vs target 60 MB: ${(after / 60).toFixed(2)}x (${samples.join(', ')}); baseline before any event ${before.toFixed(1)} MB`,
    );
  } finally {
    await browser.close();
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
