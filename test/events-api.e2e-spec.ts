import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from './support/tokens';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { connected, connectSocket } from './support/socket-client';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

const SHARED = join(__dirname, 'fixtures', 'claude-code');
const SAMPLES = readFileSync(join(SHARED, 'hook-events.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as Record<string, unknown>);
const ENVELOPE = JSON.parse(
  readFileSync(join(SHARED, 'hook-event-envelope.json'), 'utf8'),
) as Record<string, unknown>;

interface Problem {
  status: number;
  errors?: Array<{ field: string; message: string }>;
}
interface Listed {
  events: Array<Record<string, unknown> & { id: number }>;
  count: number;
  next_after_id: number | null;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe.each(databaseKinds())('hook events API on %s', (kind) => {
  let db: TestDatabase;
  let app: RunningApp;
  const count = async () =>
    ((await (await fetch(`${app.url}/api/events?limit=1000`)).json()) as Listed).count;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startTestApp(db.env);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('stores every real hook payload before 201, normalized, the payload kept as sent', async () => {
    const ids: number[] = [];
    for (const sample of SAMPLES) {
      const res = await post(app.url, sample);
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: number }).id);
    }
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const listed = (await (await fetch(`${app.url}/api/events?limit=1000`)).json()) as Listed;
    expect(listed.events.map((e) => e.id)).toEqual(ids);
    expect(listed.events.map((e) => e.hook_event_type)).toEqual(
      SAMPLES.map((s) => s.hook_event_name),
    );
    const post0 = listed.events[3];
    expect(post0).toMatchObject({
      source_app: 'shop',
      session_id: SAMPLES[3].session_id,
      hook_event_type: 'PostToolUse',
      tool_name: 'Read',
      tool_use_id: 'toolu_01AbCdEf',
      agent_id: null,
      payload: SAMPLES[3],
    });
    expect(listed.events.find((e) => e.hook_event_type === 'SubagentStop')?.agent_id).toBe(
      SAMPLES.find((s) => s.hook_event_name === 'SubagentStop')?.agent_id,
    );
  });

  it('accepts the envelope form and event names Claude Code may add later; source_app precedence', async () => {
    const res = await post(app.url, ENVELOPE, { 'x-source-app': 'header-app' });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: number };
    const future = await post(
      app.url,
      { hook_event_name: 'WorktreeCreate', session_id: 'sess-future', cwd: '/tmp/x/' },
      { 'x-source-app': 'header-app' },
    );
    expect(future.status).toBe(201);
    const listed = (await (
      await fetch(`${app.url}/api/events?after_id=${id - 1}`)
    ).json()) as Listed;
    expect(listed.events[0]).toMatchObject({
      id,
      source_app: 'shop',
      hook_event_type: 'PreToolUse',
      timestamp: ENVELOPE.timestamp,
      payload: ENVELOPE.payload,
    });
    expect(listed.events[1]).toMatchObject({
      source_app: 'header-app',
      hook_event_type: 'WorktreeCreate',
    });
  });

  it('refuses bad input with one problem listing every field, and stores nothing', async () => {
    const before = await count();
    const malformed = await post(app.url, '{"hook_event_name": "Stop", ');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toMatch(/problem\+json/);

    const missing = (await (await post(app.url, { cwd: '/x', tool_name: 7 })).json()) as Problem;
    expect(missing.status).toBe(400);
    expect(missing.errors?.map((e) => e.field).sort()).toEqual([
      'hook_event_name',
      'session_id',
      'tool_name',
    ]);

    const badEnvelope = (await (
      await post(app.url, { hook_event_type: 'Pre Tool', payload: [], timestamp: 'soon' })
    ).json()) as Problem;
    expect(badEnvelope.errors?.map((e) => e.field).sort()).toEqual([
      'hook_event_type',
      'payload',
      'session_id',
      'timestamp',
    ]);

    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const nested = await post(
      app.url,
      `{"hook_event_name":"Stop","session_id":"s1","deep":${deep}}`,
    );
    expect(nested.status).toBe(400);
    expect(((await nested.json()) as Problem).errors?.[0].message).toMatch(/nests deeper than 64/);

    expect((await post(app.url, [1, 2])).status).toBe(400);
    const huge = await post(app.url, {
      hook_event_name: 'Stop',
      session_id: 's1',
      blob: 'x'.repeat(1_100_000),
    });
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toMatch(/problem\+json/);
    expect(await count()).toBe(before);
  });

  it('filters, pages with after_id, validates the query, lists filter options', async () => {
    const bySession = (await (
      await fetch(`${app.url}/api/events?session_id=sess-future`)
    ).json()) as Listed;
    expect(bySession.events.map((e) => e.hook_event_type)).toEqual(['WorktreeCreate']);
    const page1 = (await (await fetch(`${app.url}/api/events?limit=3`)).json()) as Listed;
    const page2 = (await (
      await fetch(`${app.url}/api/events?limit=3&after_id=${page1.next_after_id}`)
    ).json()) as Listed;
    expect(page2.events[0].id).toBeGreaterThan(page1.events[2].id);
    const types = (await (
      await fetch(`${app.url}/api/events?hook_event_type=PreToolUse&source_app=shop`)
    ).json()) as Listed;
    expect(types.events.every((e) => e.hook_event_type === 'PreToolUse')).toBe(true);
    expect(types.count).toBe(4);

    const bad = (await (
      await fetch(`${app.url}/api/events?limit=1001&after_id=-1&session_id=%3Cx%3E`)
    ).json()) as Problem;
    expect(bad.errors?.map((e) => e.field).sort()).toEqual(['after_id', 'limit', 'session_id']);

    const options = (await (await fetch(`${app.url}/api/events/filter-options`)).json()) as {
      source_apps: string[];
      hook_event_types: string[];
      session_ids: string[];
    };
    expect(options.source_apps).toEqual(['header-app', 'shop']);
    expect(options.hook_event_types).toContain('WorktreeCreate');
    expect(options.session_ids[0]).toBe('sess-future');
  });

  it('gives concurrent posts unique ids in commit order', async () => {
    const last = (await (await fetch(`${app.url}/api/events?limit=1000`)).json()) as Listed;
    const after = last.next_after_id ?? 0;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post(app.url, { hook_event_name: 'Notification', session_id: `c-${i % 7}`, n: i }).then(
          async (r) => ((await r.json()) as { id: number }).id,
        ),
      ),
    );
    expect(new Set(results).size).toBe(200);
    const listed = (await (
      await fetch(`${app.url}/api/events?after_id=${after}&limit=1000`)
    ).json()) as Listed;
    expect(listed.events.map((e) => e.id)).toEqual([...results].sort((a, b) => a - b));
  });

  it('stores a resend with the same Idempotency-Key once: 200 with the first id, nothing broadcast', async () => {
    const listener = connectSocket(app.url);
    try {
      await connected(listener);
      await listener.next('initial');
      const key = randomUUID();
      const event = { hook_event_name: 'Stop', session_id: `idem-${kind}` };
      const before = await count();
      const first = await post(app.url, event, { 'idempotency-key': key });
      expect(first.status).toBe(201);
      const { id } = (await first.json()) as { id: number };
      const again = await post(app.url, event, { 'idempotency-key': key });
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await again.json()).toEqual({ id });
      // Concurrent resends (a sender retrying while the first is in flight) store nothing more.
      const racing = await Promise.all(
        Array.from({ length: 10 }, () => post(app.url, event, { 'idempotency-key': key })),
      );
      for (const res of racing) expect(await res.json()).toEqual({ id });
      const other = await post(app.url, event, { 'idempotency-key': randomUUID() });
      expect(other.status).toBe(201);
      const sentinel = ((await other.json()) as { id: number }).id;
      expect(await count()).toBe(before + 2);
      await waitFor(() => listener.eventIds().includes(sentinel), 3000, 'sentinel event');
      expect(listener.eventIds().filter((e) => e === id)).toHaveLength(1);

      // Domain events too.
      const broadcast = (headers: Record<string, string>) =>
        fetch(`${app.url}/api/broadcasts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ event_type: 'custom.once', room: 'global', data: { n: 1 } }),
        });
      const domainKey = randomUUID();
      const published = await broadcast({ 'idempotency-key': domainKey });
      expect(published.status).toBe(201);
      const domainId = ((await published.json()) as { id: number }).id;
      const republished = await broadcast({ 'idempotency-key': domainKey });
      expect(republished.status).toBe(200);
      expect(((await republished.json()) as { id: number }).id).toBe(domainId);
      const next = await broadcast({ 'idempotency-key': randomUUID() });
      const nextId = ((await next.json()) as { id: number }).id;
      await waitFor(
        () => listener.received.some((r) => r.message.event_id === nextId),
        3000,
        'second domain event',
      );
      expect(listener.received.filter((r) => r.message.event_id === domainId)).toHaveLength(1);
    } finally {
      listener.close();
    }
  });

  it('lists a bad Idempotency-Key with the bad body fields in one 400, storing nothing', async () => {
    const before = await count();
    const res = await post(app.url, { hook_event_name: 7 }, { 'idempotency-key': 'x'.repeat(129) });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as Problem;
    expect(problem.errors?.map((e) => e.field)).toEqual(
      expect.arrayContaining(['Idempotency-Key', 'hook_event_name']),
    );
    expect(await count()).toBe(before);
  });
});

describe('hook events API with auth configured', () => {
  const secret = 'a-test-secret-that-is-long-enough-32';
  const key = 'ingest-key-0123456789';
  let db: TestDatabase;
  let app: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await startTestApp({ ...db.env, AUTH_JWT_SECRET: secret, API_KEYS: key });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('needs an API key to ingest and a bearer token (or key) to read; health stays open', async () => {
    const event = { hook_event_name: 'Stop', session_id: 's1' };
    expect((await post(app.url, event)).status).toBe(401);
    expect((await post(app.url, event, { 'x-api-key': 'wrong-key-0123456789' })).status).toBe(401);
    expect((await post(app.url, event, { 'x-api-key': key })).status).toBe(201);

    expect((await fetch(`${app.url}/api/events`)).status).toBe(401);
    const expired = await signJwt({ sub: 'u1', exp: Math.floor(Date.now() / 1000) - 3600 }, secret);
    const refused = await fetch(`${app.url}/api/events`, {
      headers: { authorization: `Bearer ${expired}` },
    });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/expired/);
    const token = await signJwt({ sub: 'u1', exp: Math.floor(Date.now() / 1000) + 60 }, secret);
    const ok = await fetch(`${app.url}/api/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(200);
    expect((await fetch(`${app.url}/api/events`, { headers: { 'x-api-key': key } })).status).toBe(
      200,
    );
    expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${app.url}/metrics`)).status).toBe(200);
  });
});

describe.each(databaseKinds().filter((k) => k === 'postgres'))(
  'idempotency across two instances on %s',
  (kind) => {
    let db: TestDatabase;
    const apps: RunningApp[] = [];
    beforeAll(async () => {
      db = await createTestDatabase(kind);
      apps.push(await startTestApp(db.env), await startTestApp(db.env));
    });
    afterAll(async () => {
      for (const app of apps) await app.close();
      await db?.drop();
    });

    it('the same key posted to both at once is stored once; both answer its id', async () => {
      for (let round = 0; round < 5; round++) {
        const key = randomUUID();
        const event = { hook_event_name: 'Stop', session_id: `race-${round}` };
        const answers = await Promise.all(
          [...apps, ...apps].map((app) => post(app.url, event, { 'idempotency-key': key })),
        );
        const ids = await Promise.all(
          answers.map(async (r) => ((await r.json()) as { id: number }).id),
        );
        expect(new Set(ids).size).toBe(1);
        expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
        const listed = (await (
          await fetch(`${apps[0].url}/api/events?session_id=race-${round}`)
        ).json()) as Listed;
        expect(listed.count).toBe(1);
      }
    });
  },
);
