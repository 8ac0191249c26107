import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeriodicJobs } from '../src/cluster/periodic-jobs';
import { DatabaseWrites } from '../src/database/database-writes';
import { SnapshotStore } from '../src/usage/snapshot.store';
import { UsageSnapshot } from '../src/usage/usage-snapshot.entity';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { startTestApp, type RunningApp } from './support/test-app';

const DAY = 24 * 3_600_000;

describe.each(databaseKinds())('snapshot store on %s', (kind) => {
  let db: TestDatabase;
  let app: RunningApp;
  let store: SnapshotStore;
  let rows: () => Promise<UsageSnapshot[]>;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startTestApp({ ...db.env, SNAPSHOT_RETENTION_DAYS: '7' });
    store = app.app.get(SnapshotStore);
    const source = app.app.get(DataSource);
    rows = () => source.getRepository(UsageSnapshot).find({ order: { id: 'ASC' } });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('stores a payload once while it is unchanged, again when it changes, and again when it changes back', async () => {
    store.record('stats', 'k1', { n: 1 }, 'h1');
    store.record('stats', 'k1', { n: 1 }, 'h1');
    store.record('stats', 'k1', { n: 2 }, 'h2');
    store.record('stats', 'k1', { n: 1 }, 'h1');
    store.record('stats', 'k2', { n: 1 }, 'h1');
    expect((await store.latest('stats', 'k1'))?.payload).toEqual({ n: 1 }); // queued
    await store.flush();
    const stored = await rows();
    expect(stored.map((r) => [r.paramsKey, r.payloadHash])).toEqual([
      ['k1', 'h1'],
      ['k1', 'h2'],
      ['k1', 'h1'],
      ['k2', 'h1'],
    ]);
    expect(stored[0].payload).toEqual({ n: 1 });
  });

  it('after a restart, does not store again what equals the newest stored row', async () => {
    const fresh = new SnapshotStore(
      app.app.get(DataSource).getRepository(UsageSnapshot),
      app.config,
      app.app.get(PeriodicJobs),
      app.app.get(DatabaseWrites),
      () => Date.now(),
    );
    const before = (await rows()).length;
    fresh.record('stats', 'k1', { n: 1 }, 'h1');
    await fresh.flush();
    expect((await rows()).length).toBe(before);
    fresh.record('stats', 'k1', { n: 3 }, 'h3');
    await fresh.flush();
    expect((await rows()).length).toBe(before + 1);
    expect((await fresh.latest('stats', 'k1'))?.payload).toEqual({ n: 3 });
  });

  it('prunes what is older than SNAPSHOT_RETENTION_DAYS and keeps the rest', async () => {
    const now = Date.now();
    store.record('sessions', 'old', { old: true }, 'o1', now - 8 * DAY);
    store.record('sessions', 'edge', { edge: true }, 'e1', now - 6 * DAY);
    await store.flush();
    const before = await rows();
    expect(await store.prune(now)).toBe(1);
    const after = await rows();
    expect(after.map((r) => r.id)).toEqual(
      before.filter((r) => r.paramsKey !== 'old').map((r) => r.id),
    );
  });

  it('finds the latest matching snapshot with one index lookup, no sort', async () => {
    const source = app.app.get(DataSource);
    if (kind === 'sqlite') {
      const plan = (await source.query(
        `EXPLAIN QUERY PLAN SELECT * FROM usage_snapshots
          WHERE kind = 'stats' AND params_key = 'k1' ORDER BY created_at DESC LIMIT 1`,
      )) as Array<{ detail: string }>;
      const text = plan.map((p) => p.detail).join('\n');
      expect(text).toContain('IDX_usage_snapshots_lookup');
      expect(text).not.toMatch(/TEMP B-TREE/);
    } else {
      // The tables here are tiny, so the planner would rightly scan; forbid that to see the index path.
      const runner = source.createQueryRunner();
      try {
        await runner.query('SET enable_seqscan = off');
        const plan = (await runner.query(
          `EXPLAIN SELECT * FROM usage_snapshots
            WHERE kind = 'stats' AND params_key = 'k1' ORDER BY created_at DESC LIMIT 1`,
        )) as Array<{ 'QUERY PLAN': string }>;
        const text = plan.map((p) => p['QUERY PLAN']).join('\n');
        expect(text).toMatch(/Index Scan Backward using "?IDX_usage_snapshots_lookup"?/);
        expect(text).not.toMatch(/Sort/);
      } finally {
        await runner.query('RESET enable_seqscan');
        await runner.release();
      }
    }
  });
});
