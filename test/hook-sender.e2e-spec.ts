import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { startTestApp } from './support/test-app';
import { freePort } from './support/wait';

const SENDER = join(__dirname, '..', 'bin', 'usage-gateway-hook');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runSender(event: unknown, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [SENDER], {
      env: { PATH: process.env.PATH ?? '', HOME: env.HOME ?? tmpdir(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
    child.stdin.end(typeof event === 'string' ? event : JSON.stringify(event, null, 2));
  });
}

const event = (n: number) => ({
  hook_event_name: 'PostToolUse',
  session_id: 'spool-session',
  cwd: '/home/dev/shop',
  tool_name: 'Bash',
  n,
});

describe('hook sender (bin/usage-gateway-hook)', () => {
  let dir: string;
  let db: TestDatabase;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ug-hook-'));
    db = createSqliteDatabase();
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });

  it('spools 20 events while the gateway is down and delivers all 21 in order on the next call', async () => {
    const port = await freePort();
    const key = 'hook-sender-key-0123456789';
    const env = {
      USAGE_GATEWAY_URL: `http://127.0.0.1:${port}`,
      USAGE_GATEWAY_API_KEY: key,
      USAGE_GATEWAY_SPOOL_DIR: join(dir, 'spool'),
    };
    for (let n = 1; n <= 20; n++) {
      const run = await runSender(event(n), env);
      expect(run).toMatchObject({ code: 0, stdout: '' });
      expect(run.ms).toBeLessThan(2500);
    }
    const spooled = readFileSync(join(dir, 'spool', 'spool.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(spooled.map((l) => (JSON.parse(l) as { n: number }).n)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );

    const app = await startTestApp({ ...db.env, API_KEYS: key }, port);
    try {
      const run = await runSender(event(21), env);
      expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' });
      const listed = (await (
        await fetch(`${app.url}/api/events?session_id=spool-session&limit=100`, {
          headers: { 'x-api-key': key },
        })
      ).json()) as { events: Array<{ payload: { n: number }; source_app: string }> };
      expect(listed.events.map((e) => e.payload.n)).toEqual(
        Array.from({ length: 21 }, (_, i) => i + 1),
      );
      expect(listed.events[0].source_app).toBe('shop');
      expect(existsSync(join(dir, 'spool', 'spool.jsonl'))).toBe(false);
    } finally {
      await app.close();
    }
  }, 60_000);

  it('gives up within 2.5 s on a gateway that accepts but never answers, and keeps the event', async () => {
    const held: Socket[] = [];
    const blackhole = createServer((socket) => held.push(socket));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    const { port } = blackhole.address() as { port: number };
    try {
      const spool = join(dir, 'slow');
      const run = await runSender(event(1), {
        USAGE_GATEWAY_URL: `http://127.0.0.1:${port}`,
        USAGE_GATEWAY_SPOOL_DIR: spool,
      });
      expect(run).toMatchObject({ code: 0, stdout: '' });
      expect(run.ms).toBeLessThan(2500);
      expect(readFileSync(join(spool, 'spool.jsonl'), 'utf8')).toContain('"n":1');
    } finally {
      for (const s of held) s.destroy();
      blackhole.close();
    }
  });

  it('loses nothing when many hooks fire at once during an outage', async () => {
    const port = await freePort();
    const env = {
      USAGE_GATEWAY_URL: `http://127.0.0.1:${port}`,
      USAGE_GATEWAY_SPOOL_DIR: join(dir, 'burst'),
    };
    const burst = { ...event(0), session_id: 'burst-session' };
    const runs = await Promise.all(
      Array.from({ length: 12 }, (_, n) => runSender({ ...burst, n }, env)),
    );
    expect(runs.every((r) => r.code === 0 && r.stdout === '' && r.ms < 2500)).toBe(true);
    const burstDb = createSqliteDatabase();
    const app = await startTestApp(burstDb.env, port);
    try {
      await runSender({ ...burst, n: 99 }, env);
      const listed = (await (
        await fetch(`${app.url}/api/events?session_id=burst-session&limit=100`)
      ).json()) as { events: Array<{ payload: { n: number } }> };
      const ns = listed.events.map((e) => e.payload.n);
      expect([...ns].sort((a, b) => a - b)).toEqual([
        ...Array.from({ length: 12 }, (_, i) => i),
        99,
      ]);
      expect(ns.at(-1)).toBe(99);
    } finally {
      await app.close();
      await burstDb.drop();
    }
  }, 60_000);

  it('ignores an empty or non-JSON stdin quietly on stdout, exit 0', async () => {
    const env = {
      USAGE_GATEWAY_URL: 'http://127.0.0.1:9',
      USAGE_GATEWAY_SPOOL_DIR: join(dir, 'junk'),
    };
    expect(await runSender('', env)).toMatchObject({ code: 0, stdout: '' });
    const junk = await runSender('not json', env);
    expect(junk).toMatchObject({ code: 0, stdout: '' });
    expect(junk.stderr).toMatch(/not JSON/);
  });
});
