import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeBuilt } from './support/built';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { type GatewayProcess, spawnGateway } from './support/gateway-process';
import { freePort } from './support/wait';

const ROOT = join(__dirname, '..');

/** `npm start`'s script, as a newcomer runs it: its exit code and what it printed. */
function start(env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'start.js')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        BRIDGE_MODE: 'off',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

const builtAt = () => statSync(join(ROOT, 'dist', 'main.js')).mtimeMs;

describeBuilt('npm start (scripts/start.js)', () => {
  let gateway: GatewayProcess | undefined;
  let db: TestDatabase | undefined;
  afterEach(async () => {
    gateway?.child.kill('SIGKILL');
    await gateway?.exited;
    gateway = undefined;
    await db?.drop();
  });

  it('a second start beside a running gateway says so in one line, and the first keeps serving its dashboard', async () => {
    db = createSqliteDatabase();
    const port = await freePort();
    gateway = spawnGateway({ ...db.env, PORT: String(port) }, { built: true });
    const url = await gateway.listening;
    const before = builtAt();
    const second = await start({ ...db.env, PORT: String(port) });
    expect(second.code).toBe(1);
    expect(second.output.trim().split('\n')).toEqual([
      `usage-gateway: a usage-gateway is already running at ${url}/ (its dashboard); stop it first, or start this one with another PORT`,
    ]);
    expect(builtAt()).toBe(before);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
  });

  it('names a port another program holds, and a bad PORT, each in one line, without building', async () => {
    // A program that accepts connections and never answers HTTP.
    const held = new Set<import('node:net').Socket>();
    const taken = createServer((socket) => held.add(socket));
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const before = builtAt();
    try {
      const port = (taken.address() as AddressInfo).port;
      const busy = await start({ PORT: String(port) });
      expect(busy.code).toBe(1);
      expect(busy.output.trim()).toBe(
        `usage-gateway: port ${port} on 127.0.0.1 is already in use by another program: stop it or set PORT`,
      );
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((r) => taken.close(r));
    }
    const bad = await start({ PORT: 'abc' });
    expect(bad.code).toBe(1);
    expect(bad.output.trim().split('\n')).toHaveLength(1);
    expect(bad.output).toMatch(/^usage-gateway: Invalid configuration: PORT="abc": /);
    expect(builtAt()).toBe(before);
  });
});
