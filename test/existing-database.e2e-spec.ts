import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { type RunningApp, startTestApp } from './support/test-app';

/**
 * Upgrading in place: databases written by the last release on NestJS 11 / TypeORM 0.3 (made by
 * test/fixtures/release-0.1/make.sh) are opened by this code with their data intact.
 */
const FIXTURES = join(__dirname, 'fixtures', 'release-0.1');

async function restore(db: TestDatabase): Promise<void> {
  if (db.kind === 'sqlite') {
    // The previous release's file, rebuilt in the temp folder from its dump (schema and rows).
    const target = db.env.DB_SQLITE_PATH;
    mkdirSync(join(target, '..'), { recursive: true });
    const sqlite = new Database(target);
    try {
      sqlite.exec(readFileSync(join(FIXTURES, 'gateway.sqlite.sql'), 'utf8'));
    } finally {
      sqlite.close();
    }
    return;
  }
  const client = new Client({ connectionString: db.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(readFileSync(join(FIXTURES, 'postgres.sql'), 'utf8'));
  } finally {
    await client.end();
  }
}

describe.each(databaseKinds())('a %s database made by the previous release', (kind) => {
  let db: TestDatabase | undefined;
  let gateway: RunningApp | undefined;

  afterEach(async () => {
    await gateway?.close();
    await db?.drop();
  });

  it('boots with nothing to migrate and serves its events, config and snapshots unchanged', async () => {
    db = await createTestDatabase(kind);
    await restore(db);
    // Retention off: the fixture's events keep their original dates however old they get.
    gateway = await startTestApp({ ...db.env, EVENT_RETENTION_DAYS: '0' });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, checked below
    const get = async (path: string): Promise<any> => {
      const res = await fetch(gateway!.url + path);
      expect(res.status).toBe(200);
      return res.json();
    };

    const { events } = await get('/api/events?limit=10');
    expect(
      events.map((e: { id: number; payload: { tool_input: unknown } }) => [e.id, e.payload]),
    ).toEqual(
      [1, 2, 3].map((n) => [n, { tool_name: 'Bash', tool_input: { command: `echo ${n}` } }]),
    );

    const config = await get('/api/usage/config');
    expect(config).toMatchObject({ plan: 'max5', timezone: 'Europe/Berlin' });

    const { snapshots } = await get('/api/usage/snapshots?kind=stats');
    expect(snapshots.length).toBeGreaterThan(0);
    expect(snapshots[0].payload.current_session).toMatchObject({ id: expect.any(String) });

    // The idempotency keys stored by the old release still answer a resend with the first id.
    const post = (key: string, command: string) =>
      fetch(`${gateway!.url}/api/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({
          source_app: 'shop',
          session_id: 's-1',
          hook_event_type: 'PreToolUse',
          payload: { tool_name: 'Bash', tool_input: { command } },
        }),
      });
    const replay = await post('7d6f8a2e-0000-4000-8000-000000000002', 'echo 2');
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ id: 2 });
    const fresh = await post('7d6f8a2e-0000-4000-8000-000000000004', 'echo 4');
    expect(fresh.status).toBe(201);
    expect(await fresh.json()).toMatchObject({ id: 4 });
  });
});
