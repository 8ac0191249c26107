import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { spawnGateway, type GatewayProcess } from './support/gateway-process';
import { freePort } from './support/wait';

/** What the gateway printed, line by line (a deprecation notice of Node's would be a line too). */
const printed = (g: GatewayProcess) => g.output().trim().split('\n');

describe('the gateway process', () => {
  let gateway: GatewayProcess | undefined;
  let db: TestDatabase | undefined;

  afterEach(async () => {
    if (gateway && gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
    await db?.drop();
  });

  it('refuses to boot on invalid settings, naming every one, and exits 1', async () => {
    gateway = spawnGateway({
      PORT: 'abc',
      USAGE_BRIDGE_URL: 'ftp://x',
      HOST: '0.0.0.0',
      AUTH_JWT_SECRET: '',
    });
    const { code } = await gateway.exited;
    expect(code).toBe(1);
    const out = gateway.output();
    expect(out).toContain('Invalid configuration (3 problems)');
    expect(out).toMatch(/PORT="abc"/);
    expect(out).toMatch(/USAGE_BRIDGE_URL="ftp:\/\/x"/);
    expect(out).toMatch(/HOST="0\.0\.0\.0"/);
  });

  it("starts with a short console: one line each (LOG_FORMAT=pretty), the dashboard named, none of Nest's module chatter", async () => {
    db = createSqliteDatabase();
    gateway = spawnGateway({ ...db.env, PORT: '0', LOG_FORMAT: 'pretty', NO_COLOR: '1' });
    const url = await gateway.listening;
    const lines = printed(gateway);
    expect(lines.find((l) => l.includes('listening on'))).toMatch(
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d INFO  Bootstrap  usage-gateway listening on ${url}  ·  dashboard: ${url}/  ·  `,
      ),
    );
    expect(lines.filter((l) => /InstanceLoader|RouterExplorer|RoutesResolver/.test(l))).toEqual([]);
    expect(lines.length).toBeLessThan(8);
    expect(lines.every((l) => !l.startsWith('{'))).toBe(true);
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    // Not a TTY and no LOG_FORMAT: JSON lines for a collector.
    gateway = spawnGateway({ ...db.env, PORT: '0' });
    await gateway.listening;
    const json = printed(gateway);
    expect(json.every((l) => l.startsWith('{'))).toBe(true);
    expect(json.some((l) => l.includes('"context":"InstanceLoader"'))).toBe(false);
  });

  it('says in one line why it cannot reach its database, and exits 1', async () => {
    const port = await freePort();
    gateway = spawnGateway({ DATABASE_URL: `postgres://u:secret@127.0.0.1:${port}/usage` });
    const { code } = await gateway.exited;
    expect(code).toBe(1);
    expect(printed(gateway).join('\n')).toBe(
      `usage-gateway: cannot reach PostgreSQL at 127.0.0.1:${port}/usage (ECONNREFUSED): start it, or fix DATABASE_URL`,
    );
  });

  it('exits 1 with the reason when its port is taken, instead of running without listening', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      db = createSqliteDatabase();
      const port = (taken.address() as AddressInfo).port;
      gateway = spawnGateway({ ...db.env, PORT: String(port) });
      const { code } = await gateway.exited;
      expect(code).toBe(1);
      expect(gateway.output()).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`serves, then exits 0 on ${signal}`, async () => {
      db = createSqliteDatabase();
      const port = await freePort();
      gateway = spawnGateway({ ...db.env, PORT: String(port) });
      const url = await gateway.listening;
      expect(url).toBe(`http://127.0.0.1:${port}`);
      expect((await fetch(`${url}/health/ready`)).status).toBe(200);

      // A keep-alive connection left open by a client must not hold the shutdown up.
      await fetch(`${url}/health/live`, { keepalive: true });
      gateway.child.kill(signal);
      const { code } = await gateway.exited;
      expect(code).toBe(0);
      await expect(fetch(`${url}/health/live`)).rejects.toThrow();
    });
  }

  it('stops cleanly when SIGINT comes twice, as Ctrl-C under npm start delivers it', async () => {
    db = createSqliteDatabase();
    const port = await freePort();
    gateway = spawnGateway({ ...db.env, PORT: String(port) });
    const url = await gateway.listening;
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    // The terminal signals the whole process group; npm forwards its own copy to the child.
    gateway.child.kill('SIGINT');
    gateway.child.kill('SIGINT');
    const { code } = await gateway.exited;
    expect(code).toBe(0);
    // The database was closed: SQLite checkpointed and removed its write-ahead log.
    expect(existsSync(`${db.env.DB_SQLITE_PATH}-wal`)).toBe(false);
  });
});
