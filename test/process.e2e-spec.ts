import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { spawnGateway, type GatewayProcess } from './support/gateway-process';
import { freePort } from './support/wait';

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
