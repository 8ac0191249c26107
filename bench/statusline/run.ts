/**
 * The status line (issue: Claude Code integration): `usage-gateway-hook statusline` vs
 * `ccusage statusline --offline` (the pinned ccusage 20.0.24, native) on the log tree of bench/bridge-scan,
 * in one run, with plain Node start-up (`node -e ''`) measured alongside as the floor of any Node
 * command:
 *
 *   npm run bench:statusline      (builds, then: node -r ./scripts/register-ts.js bench/statusline/run.ts)
 *
 *   (a) nothing changed since the last call: ccusage answers from its own cache (given
 *       --refresh-interval 3600 so that the cache stays valid for the run; its default of 1 s would
 *       make most calls a full re-scan). Target: no slower than ccusage.
 *   (c) the gateway stopped: how long the stale line takes (the command's deadline is 300 ms).
 *   (b) a line was appended to the session's log before each call, as after every message: ccusage
 *       re-scans everything; the gateway counts the line at once (checked in each output).
 *       Target: >= 100x faster.
 *   (d) Claude Code's official limits in the input (forwarded, recorded when they change) against
 *       the same call without them. Target: forwarding adds <= 10 ms at p50.
 *
 * BENCH_TREE (default .bench/tree-300000000-600, made by `npm run bench:bridge-scan`, else
 * generated), BENCH_RUNS (a; default 30), BENCH_APPEND_RUNS (b; default 3).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/wait';

const ROOT = join(__dirname, '..', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const APPEND_RUNS = Number(process.env.BENCH_APPEND_RUNS ?? 3);
const SENDER = join(ROOT, 'bin', 'usage-gateway-hook');
// ccusage 20's launcher: it runs this platform's native binary.
const CCUSAGE = join(ROOT, 'node_modules', 'ccusage', 'src', 'cli.js');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tree(): string {
  const wanted = process.env.BENCH_TREE ?? join(ROOT, '.bench', 'tree-300000000-600');
  if (existsSync(join(wanted, 'projects'))) return wanted;
  const small = join(ROOT, '.bench', 'tree-300000000-600');
  if (!existsSync(join(small, 'projects'))) {
    console.log(`generating a 300 MB tree in ${small} ...`);
    execFileSync(
      'python3',
      [
        join(ROOT, 'bench', 'bridge-scan', 'generate.py'),
        small,
        '--bytes',
        '3e8',
        '--files',
        '600',
      ],
      {
        stdio: 'inherit',
      },
    );
  }
  return small;
}

/** Runs a command with `input` on stdin: wall time (ms, spawn to exit) and its stdout. */
function timed(command: string, args: string[], input: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ ms: number; out: string }>((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', () => resolve({ ms: performance.now() - started, out: out.trim() }));
    child.stdin.end(input);
  });
}

const pct = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

async function startGateway(
  claudeDir: string,
  dataDir: string,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dataDir,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DB_SQLITE_PATH: join(dataDir, 'gateway.sqlite'),
      BRIDGE_MODE: 'spawn',
      BRIDGE_PORT: '0',
      BRIDGE_STATE_DIR: join(dataDir, 'bridge'),
      CLAUDE_CONFIG_DIR: claudeDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const status = (await (await fetch(`${url}/api/usage/bridge/status`)).json()) as {
        process: { state: string };
      };
      if (status.process.state === 'ready') return { url, child };
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('the gateway did not get ready');
    await sleep(200);
  }
}

async function main() {
  const claudeDir = tree();
  const dataDir = mkdtempSync(join(tmpdir(), 'ug-bench-statusline-'));
  // The session: the newest log file (its name is Claude Code's session id).
  const projects = join(claudeDir, 'projects');
  const project = readdirSync(projects)[0];
  const file = readdirSync(join(projects, project)).find((f) => f.endsWith('.jsonl'))!;
  const transcript = join(projects, project, file);
  const sessionId = file.replace(/\.jsonl$/, '');
  const input = JSON.stringify({
    hook_event_name: 'Status',
    session_id: sessionId,
    transcript_path: transcript,
    cwd: claudeDir,
    model: { id: 'claude-sonnet-4-5-20250929', display_name: 'Sonnet 4.5' },
    workspace: { current_dir: claudeDir, project_dir: claudeDir },
    version: '2.0.30',
  });
  console.log(`tree: ${claudeDir}; session ${sessionId}`);
  const started = performance.now();
  const gateway = await startGateway(claudeDir, dataDir);
  console.log(
    `gateway ready (bridge cold scan included) after ${fmt(performance.now() - started)}`,
  );
  const ours = {
    ...process.env,
    USAGE_GATEWAY_URL: gateway.url,
    NO_COLOR: '1',
    HOME: dataDir,
    USAGE_GATEWAY_SPOOL_DIR: dataDir,
  };
  const theirs = {
    ...process.env,
    CLAUDE_CONFIG_DIR: claudeDir,
    NO_COLOR: '1',
    HOME: dataDir,
    TZ: 'UTC',
  };
  const ccusageArgs = [CCUSAGE, 'statusline', '--offline', '--refresh-interval', '3600'];
  let appended = 0;
  try {
    // Warm both: ccusage's first call scans and fills its cache; ours warms the gateway's.
    const first = await timed(process.execPath, ccusageArgs, input, theirs);
    console.log(`ccusage first call (full scan, fills its cache): ${fmt(first.ms)} → ${first.out}`);
    for (let i = 0; i < 3; i++) await timed(process.execPath, [SENDER, 'statusline'], input, ours);

    // (a) nothing changed
    const node: number[] = [];
    const gw: number[] = [];
    const cc: number[] = [];
    let lastOurs = '';
    for (let i = 0; i < RUNS; i++) {
      node.push((await timed(process.execPath, ['-e', ''], '', process.env)).ms);
      const o = await timed(process.execPath, [SENDER, 'statusline'], input, ours);
      gw.push(o.ms);
      lastOurs = o.out;
      cc.push((await timed(process.execPath, ccusageArgs, input, theirs)).ms);
    }
    console.log(`\n(a) nothing changed, ${RUNS} calls each (p50 / p99):`);
    console.log(
      `RATIO usage-gateway-hook statusline vs ccusage statusline (cached): ${(pct(gw, 0.5) / pct(cc, 0.5)).toFixed(2)}x at p50, ${(pct(gw, 0.99) / pct(cc, 0.99)).toFixed(2)}x at p99 (below 1 = faster)`,
    );
    console.log(
      `  usage-gateway-hook statusline  ${fmt(pct(gw, 0.5))} / ${fmt(pct(gw, 0.99))}   ${lastOurs}`,
    );
    console.log(`  ccusage statusline (cache)     ${fmt(pct(cc, 0.5))} / ${fmt(pct(cc, 0.99))}`);
    console.log(
      `  node -e '' (start-up floor)    ${fmt(pct(node, 0.5))} / ${fmt(pct(node, 0.99))}`,
    );

    // (d) forwarding Claude Code's official limits: the same call with `rate_limits` in its input
    // (recorded when they change: every 5th call here), interleaved with calls without them.
    const plain: number[] = [];
    const forwarding: number[] = [];
    const resets = Math.floor(Date.now() / 1000) + 3 * 3600;
    let lastForwarded = '';
    for (let i = 0; i < RUNS; i++) {
      plain.push((await timed(process.execPath, [SENDER, 'statusline'], input, ours)).ms);
      const withLimits = JSON.stringify({
        ...(JSON.parse(input) as object),
        rate_limits: {
          five_hour: { used_percentage: 10 + Math.floor(i / 5), resets_at: resets },
          seven_day: { used_percentage: 4, resets_at: resets + 4 * 86_400 },
        },
      });
      const f = await timed(process.execPath, [SENDER, 'statusline'], withLimits, ours);
      forwarding.push(f.ms);
      lastForwarded = f.out;
    }
    console.log(`\n(d) forwarding the official limits, ${RUNS} calls each (p50 / p99):`);
    console.log(
      `RATIO with rate_limits / without: ${(pct(forwarding, 0.5) / pct(plain, 0.5)).toFixed(2)}x at p50; forwarding adds ${fmt(pct(forwarding, 0.5) - pct(plain, 0.5))} at p50 (target ≤ 10 ms)`,
    );
    console.log(
      `  with rate_limits     ${fmt(pct(forwarding, 0.5))} / ${fmt(pct(forwarding, 0.99))}   ${lastForwarded}`,
    );
    console.log(`  without              ${fmt(pct(plain, 0.5))} / ${fmt(pct(plain, 0.99))}`);

    // (b) a line appended before each call
    const gwB: number[] = [];
    const ccB: number[] = [];
    let counted = 0;
    for (let i = 0; i < APPEND_RUNS; i++) {
      const line = (n: number) =>
        JSON.stringify({
          type: 'assistant',
          timestamp: new Date().toISOString(),
          requestId: `req_bench_${Date.now()}_${n}`,
          message: {
            id: `msg_bench_${Date.now()}_${n}`,
            model: 'claude-sonnet-4-5-20250929',
            usage: { input_tokens: 10, output_tokens: 100_000 }, // $1.50: visible in the line
          },
        }) + '\n';
      const before = (await timed(process.execPath, [SENDER, 'statusline'], input, ours)).out;
      appendFileSync(transcript, line(1));
      appended += 1;
      const o = await timed(process.execPath, [SENDER, 'statusline'], input, ours);
      gwB.push(o.ms);
      const session = (text: string) => Number(/\$([\d.]+) session/.exec(text)?.[1] ?? NaN);
      if (Math.abs(session(o.out) - session(before) - 1.5) < 0.011) counted += 1;
      appendFileSync(transcript, line(2));
      appended += 1;
      const c = await timed(process.execPath, ccusageArgs, input, theirs);
      ccB.push(c.ms);
      console.log(
        `  (b) run ${i + 1}: ours ${fmt(o.ms)} (${o.out}); ccusage ${fmt(c.ms)} (${c.out})`,
      );
    }
    console.log(`\n(b) a line appended before each call, ${APPEND_RUNS} calls each (p50 / max):`);
    console.log(
      `RATIO ccusage statusline (re-scan) / usage-gateway-hook statusline: ${(pct(ccB, 0.5) / pct(gwB, 0.5)).toFixed(0)}x faster at p50`,
    );
    console.log(
      `  usage-gateway-hook statusline  ${fmt(pct(gwB, 0.5))} / ${fmt(Math.max(...gwB))}; the new line counted in ${counted} of ${APPEND_RUNS}`,
    );
    console.log(
      `  ccusage statusline (re-scan)   ${fmt(pct(ccB, 0.5))} / ${fmt(Math.max(...ccB))}`,
    );
    // (c) the gateway stopped: the stale line, by the command's own 300 ms deadline.
    gateway.child.kill('SIGTERM');
    await new Promise((r) => gateway.child.once('exit', r));
    const stale: number[] = [];
    let staleLine = '';
    for (let i = 0; i < 10; i++) {
      const o = await timed(process.execPath, [SENDER, 'statusline'], input, ours);
      stale.push(o.ms);
      staleLine = o.out;
    }
    console.log(
      `\n(c) the gateway stopped, 10 calls (p50 / max; the 300 ms deadline counts from the process start):`,
    );
    console.log(
      `  usage-gateway-hook statusline  ${fmt(pct(stale, 0.5))} / ${fmt(Math.max(...stale))}   ${staleLine}`,
    );
  } finally {
    gateway.child.kill('SIGTERM');
    // Leave the tree as it was: take the appended lines off again.
    if (appended) {
      const { readFileSync, writeFileSync } = await import('node:fs');
      const lines = readFileSync(transcript, 'utf8').split('\n');
      writeFileSync(transcript, lines.slice(0, lines.length - 1 - appended).join('\n') + '\n');
    }
    await sleep(500);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
