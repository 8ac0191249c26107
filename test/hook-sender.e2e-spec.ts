import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { startTestApp } from './support/test-app';
import { signJwt } from './support/tokens';
import { freePort } from './support/wait';

const SENDER = join(__dirname, '..', 'bin', 'usage-gateway-hook');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A sender still running after this is hung: it is killed and its run has no exit code. */
const HUNG_AFTER_MS = 15_000;

function runSender(event: unknown, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SENDER], {
      env: { PATH: process.env.PATH ?? '', HOME: env.HOME ?? tmpdir(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const hung = setTimeout(() => child.kill('SIGKILL'), HUNG_AFTER_MS);
    child.on('exit', (code) => {
      clearTimeout(hung);
      resolve({ code, stdout, stderr });
    });
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
    }
    const spooled = readFileSync(join(dir, 'spool', 'spool.jsonl'), 'utf8')
      .trim()
      .split('\n');
    // Each line: the event's idempotency key (a UUID), a space, the event.
    expect(spooled.every((l) => /^[0-9a-f-]{36} \{/.test(l))).toBe(true);
    expect(spooled.map((l) => (JSON.parse(l.slice(37)) as { n: number }).n)).toEqual(
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

  it('gives up by itself on a gateway that accepts but never answers, and keeps the event', async () => {
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
    expect(runs.every((r) => r.code === 0 && r.stdout === '')).toBe(true);
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

  it('sends USAGE_GATEWAY_TOKEN as a bearer; a refused credential keeps the events, says why once, pauses', async () => {
    const secret = 'hook-sender-jwt-secret-long-enough-000';
    const port = await freePort();
    const spool = join(dir, 'jwt');
    const jwtDb = createSqliteDatabase();
    const app = await startTestApp({ ...jwtDb.env, AUTH_JWT_SECRET: secret }, port);
    const listed = async (token: string) =>
      (
        (await (
          await fetch(`${app.url}/api/events?session_id=jwt-session`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as { events: Array<{ payload: { n: number } }> }
      ).events.map((e) => e.payload.n);
    try {
      // A hook sender writes as a team member: its member token (an admin JWT issues it).
      const admin = await signJwt({ sub: 'root', role: 'admin' }, secret);
      const created = await fetch(`${app.url}/api/team/members`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'hook' }),
      });
      const good = ((await created.json()) as { token: string }).token;
      const bad = await signJwt({ sub: 'hook' }, 'x'.repeat(40));
      const env = { USAGE_GATEWAY_URL: app.url, USAGE_GATEWAY_SPOOL_DIR: spool };
      const jwtEvent = (n: number) => ({ ...event(n), session_id: 'jwt-session' });

      expect(await runSender(jwtEvent(1), { ...env, USAGE_GATEWAY_TOKEN: good })).toMatchObject({
        code: 0,
        stdout: '',
      });
      expect(await listed(good)).toEqual([1]);

      // Refused: kept, one line in hook.log, and the next calls within a minute send nothing.
      for (let n = 2; n <= 4; n++) {
        const run = await runSender(jwtEvent(n), { ...env, USAGE_GATEWAY_TOKEN: bad });
        expect(run).toMatchObject({ code: 0, stdout: '' });
      }
      const log = readFileSync(join(spool, 'hook.log'), 'utf8').trim().split('\n');
      expect(log).toHaveLength(1);
      expect(log[0]).toMatch(/refused the bearer token in USAGE_GATEWAY_TOKEN \(HTTP 401\)/);
      expect(readFileSync(join(spool, 'spool.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);

      // The pause is over (as a minute later) and the token is fixed: everything arrives once.
      const state = join(spool, 'auth-refused.json');
      const paused = JSON.parse(readFileSync(state, 'utf8')) as { refusedAt: number };
      writeFileSync(state, JSON.stringify({ ...paused, refusedAt: paused.refusedAt - 61_000 }));
      await runSender(jwtEvent(5), { ...env, USAGE_GATEWAY_TOKEN: good });
      expect(await listed(good)).toEqual([1, 2, 3, 4, 5]);
      expect(existsSync(join(spool, 'spool.jsonl'))).toBe(false);
    } finally {
      await app.close();
      await jwtDb.drop();
    }
  }, 60_000);

  it('does not hammer a gateway that refuses: one request per minute, not one per hook', async () => {
    let requests = 0;
    const refusing = createHttpServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(401, { 'content-type': 'application/problem+json' }).end('{}');
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    const { port } = refusing.address() as { port: number };
    try {
      const env = {
        USAGE_GATEWAY_URL: `http://127.0.0.1:${port}`,
        USAGE_GATEWAY_SPOOL_DIR: join(dir, 'refusing'),
        USAGE_GATEWAY_API_KEY: 'not-the-right-key-000',
      };
      for (let n = 1; n <= 5; n++) await runSender(event(n), env);
      expect(requests).toBe(1);
      expect(readFileSync(join(dir, 'refusing', 'hook.log'), 'utf8')).toMatch(
        /refused the API key in USAGE_GATEWAY_API_KEY/,
      );
    } finally {
      refusing.close();
    }
  });

  it('resends an event whose answer was lost with the same Idempotency-Key', async () => {
    const keys: string[] = [];
    let dropNext = true;
    const flaky = createHttpServer((req, res) => {
      keys.push(String(req.headers['idempotency-key']));
      req.resume();
      req.on('end', () => {
        if (dropNext) {
          dropNext = false;
          req.socket.destroy(); // stored, but the answer never arrives
          return;
        }
        res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":1}');
      });
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    const { port } = flaky.address() as { port: number };
    try {
      const env = {
        USAGE_GATEWAY_URL: `http://127.0.0.1:${port}`,
        USAGE_GATEWAY_SPOOL_DIR: join(dir, 'flaky'),
      };
      await runSender(event(1), env);
      await runSender(event(2), env);
      expect(keys).toHaveLength(3);
      expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(keys[1]).toBe(keys[0]);
      expect(keys[2]).not.toBe(keys[0]);
    } finally {
      flaky.close();
    }
  });
});
