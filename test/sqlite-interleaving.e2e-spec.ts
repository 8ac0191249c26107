import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait';
import { AlertRecord } from '../src/alerts/alert.entity';
import { DatabaseWrites } from '../src/database/database-writes';
import { HookEvent } from '../src/events/hook-event.entity';
import { UsageConfigRecord } from '../src/usage/usage-config.entity';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { startTestApp, type RunningApp } from './support/test-app';

/**
 * TypeORM's SQLite driver gives every caller one connection: a transaction begun while another
 * is open nests inside it as a SAVEPOINT, and the outer one's ROLLBACK takes the inner one's
 * acknowledged rows with it. Every write waits its turn instead (DatabaseWrites).
 */
describe('SQLite: interleaved transactions', () => {
  let db: TestDatabase;
  let running: RunningApp;

  beforeAll(async () => {
    db = createSqliteDatabase();
    running = await startTestApp(db.env);
  });
  afterAll(async () => {
    await running?.close();
    await db?.drop();
  });

  it('an event batch and a config update beside a transaction that fails lose nothing they acknowledged', async () => {
    const writes = running.app.get(DatabaseWrites);
    const data = running.app.get(DataSource);
    expect(writes.serial).toBe(true);

    let begun!: () => void;
    const started = new Promise<void>((resolve) => (begun = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const failing = writes.transaction(async (manager) => {
      await manager.insert(AlertRecord, {
        key: 'doomed',
        type: 'bridge_failed',
        severity: 'critical',
        title: 'doomed',
        text: 'rolled back',
        data: {},
        createdAt: Date.now(),
      });
      begun();
      await gate;
      throw new Error('this transaction fails after the others were sent');
    });
    const failed = failing.then(
      () => 'committed',
      () => 'rolled back',
    );
    await started;

    // Sent while the failing transaction is open.
    const event = fetch(`${running.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        source_app: 'interleave',
        session_id: 's1',
        hook_event_type: 'Notification',
        payload: { n: 1 },
      }),
    });
    const config = fetch(`${running.url}/api/usage/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'max20', timezone: 'Europe/Berlin' }),
    });
    // Both have reached the write queue behind the open transaction (before the queue, they ran
    // inside it).
    await waitFor(
      () => (writes.queued >= 3 ? true : undefined),
      10_000,
      'the event and the config write waiting behind the open transaction',
    );
    release();

    expect(await failed).toBe('rolled back');
    const eventRes = await event;
    const configRes = await config;
    expect(eventRes.status).toBe(201);
    expect(configRes.status).toBe(200);
    const { id } = (await eventRes.json()) as { id: number };

    // What was acknowledged is stored; what failed is not.
    expect(await data.getRepository(HookEvent).findOneBy({ id })).toMatchObject({
      sourceApp: 'interleave',
    });
    expect(await data.getRepository(UsageConfigRecord).findOneBy({ id: 1 })).toMatchObject({
      plan: 'max20',
      timezone: 'Europe/Berlin',
    });
    expect(await data.getRepository(AlertRecord).countBy({ key: 'doomed' })).toBe(0);
    const config2 = (await (await fetch(`${running.url}/api/usage/config`)).json()) as {
      plan: string;
    };
    expect(config2.plan).toBe('max20');
  });
});
