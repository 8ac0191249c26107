import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRetention } from '../src/events/event-retention';
import { EventStore } from '../src/events/event.store';
import type { NormalizedHookEvent } from '../src/events/hook-event.normalizer';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { startTestApp, type RunningApp } from './support/test-app';

const DAY_MS = 86_400_000;
const hookEvent = (session: string, n: number): NormalizedHookEvent => ({
  sourceApp: 'shop',
  sessionId: session,
  hookEventType: 'Notification',
  toolName: null,
  toolUseId: null,
  agentId: null,
  payload: { n },
  timestamp: Date.now(),
  timestampSource: 'sender',
});

describe.each(databaseKinds())('event retention on %s', (kind) => {
  let db: TestDatabase;
  let app: RunningApp;
  const count = async (session: string) =>
    (
      (await (await fetch(`${app.url}/api/events?session_id=${session}&limit=1000`)).json()) as {
        count: number;
      }
    ).count;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startTestApp({ ...db.env, EVENT_RETENTION_DAYS: '7' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('deletes events stored before the retention window in short batches, keeps the rest and every concurrent write', async () => {
    const store = app.app.get(EventStore);
    // The prune the app runs at boot is over before the old events go in (it would take some).
    await app.app.get(EventRetention).prune();
    const old = Date.now() - 8 * DAY_MS;
    await Promise.all(
      Array.from({ length: 3000 }, (_, n) => store.append(hookEvent('old', n), old)),
    );
    await Promise.all(
      Array.from({ length: 10 }, (_, n) =>
        store.append(hookEvent('recent', n), Date.now() - 6 * DAY_MS),
      ),
    );
    expect(await count('recent')).toBe(10);

    const pruning = app.app.get(EventRetention).prune();
    const posted = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        fetch(`${app.url}/api/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ hook_event_name: 'Stop', session_id: 'during', n }),
        }),
      ),
    );
    const report = await pruning;
    expect(posted.every((r) => r.status === 201)).toBe(true);
    expect(report.deleted).toBe(3000);
    expect(report.batches).toBeGreaterThan(1);
    expect(await count('old')).toBe(0);
    expect(await count('recent')).toBe(10);
    expect(await count('during')).toBe(50);
    expect((await app.app.get(EventRetention).prune()).deleted).toBe(0);
  }, 60_000);
});

describe('EVENT_RETENTION_DAYS=0', () => {
  let db: TestDatabase;
  let app: RunningApp;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await startTestApp({ ...db.env, EVENT_RETENTION_DAYS: '0' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('keeps every event', async () => {
    await app.app.get(EventStore).append(hookEvent('ancient', 1), Date.now() - 3650 * DAY_MS);
    expect((await app.app.get(EventRetention).prune()).deleted).toBe(0);
    const listed = (await (await fetch(`${app.url}/api/events?session_id=ancient`)).json()) as {
      count: number;
    };
    expect(listed.count).toBe(1);
  });
});
