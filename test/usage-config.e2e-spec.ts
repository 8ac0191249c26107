import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageConfigService } from '../src/usage/usage-config.service';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { FakeBridge } from './support/fake-bridge';
import { describeWithService } from './support/services';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

interface Stats {
  config_applied: { plan: string; timezone: string };
}

const postConfig = (app: RunningApp, body: unknown) =>
  fetch(`${app.url}/api/usage/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe.each(databaseKinds())('usage config across instances on %s', (kind) => {
  let db: TestDatabase;
  const apps: RunningApp[] = [];
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    // Two instances on one database; no bridge, so reads show the parameters they would use.
    apps.push(await startTestApp(db.env), await startTestApp(db.env));
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.drop();
  });

  it('a change made on A is what B uses for its next reads', async () => {
    const [a, b] = apps;
    const planOnB = async () =>
      ((await (await fetch(`${b.url}/api/usage/stats`)).json()) as Stats).config_applied.plan;
    expect(await planOnB()).toBe('pro'); // B has read (and memoized) the config
    expect((await postConfig(a, { plan: 'max20' })).status).toBe(200);
    await waitFor(async () => (await planOnB()) === 'max20', 5000, 'B reads with max20');
    expect(
      ((await (await fetch(`${b.url}/api/usage/config`)).json()) as { plan: string }).plan,
    ).toBe('max20');
  });
});

describeWithService('TEST_DATABASE_URL', 'concurrent config changes on PostgreSQL', () => {
  let db: TestDatabase;
  const apps: RunningApp[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    apps.push(await startTestApp(db.env), await startTestApp(db.env, 0));
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.drop();
  });

  it('keeps both of two changes of different fields made at once on two instances', async () => {
    const [a, b] = apps;
    const zones = ['Europe/Berlin', 'Asia/Kolkata', 'America/St_Johns', 'UTC'];
    const themes = ['dark', 'light', 'classic', 'auto'];
    for (let round = 0; round < 12; round++) {
      const theme = themes[round % themes.length];
      const timezone = zones[round % zones.length];
      const [x, y] = await Promise.all([
        postConfig(a, { theme }),
        postConfig(b, { timezone, reset_hour: round % 24 }),
      ]);
      expect([x.status, y.status]).toEqual([200, 200]);
      // Read from the database through either instance (a lost update never shows up).
      await waitFor(
        async () => {
          const stored = (await (await fetch(`${b.url}/api/usage/config`)).json()) as {
            theme: string;
            timezone: string;
            reset_hour: number;
          };
          return (
            (stored.theme === theme &&
              stored.timezone === timezone &&
              stored.reset_hour === round % 24) ||
            undefined
          );
        },
        // A condition, not a latency: generous for a loaded machine.
        15_000,
        `round ${round}: both changes stored`,
      );
    }
  }, 120_000);
});

describe('a config the bridge refuses (4xx)', () => {
  let db: TestDatabase;
  let bridge: FakeBridge;
  let app: RunningApp;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    bridge = await new FakeBridge().start('--refuse-config');
    app = await startTestApp({
      ...db.env,
      BRIDGE_MODE: 'external',
      USAGE_BRIDGE_URL: bridge.url,
    });
  });
  afterAll(async () => {
    await app?.close();
    bridge?.stop();
    await db?.drop();
  });

  it('is answered 422 with the bridge reason, undone, and never retried', async () => {
    const before = (await (await fetch(`${app.url}/api/usage/config`)).json()) as {
      timezone: string;
    };
    const res = await postConfig(app, { timezone: 'America/St_Johns', plan: 'max5' });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const problem = (await res.json()) as {
      detail: string;
      errors: Array<{ field: string; message: string }>;
      from_bridge: boolean;
    };
    expect(problem.detail).toMatch(
      /refused this configuration, nothing was changed: unknown time zone/,
    );
    expect(problem.errors).toEqual([
      { field: 'timezone', message: "no such zone in this Python's tz database" },
    ]);
    expect(problem.from_bridge).toBe(true);
    const after = (await (await fetch(`${app.url}/api/usage/config`)).json()) as {
      timezone: string;
      plan: string;
    };
    expect(after).toMatchObject({ timezone: before.timezone, plan: 'pro' });
    // Not left pending: a bridge recovery pushes nothing.
    const posts = await bridge.count();
    expect(posts).toBe(1);
    await app.app.get(UsageConfigService).pushPending();
    expect(await bridge.count()).toBe(posts);
  });
});
