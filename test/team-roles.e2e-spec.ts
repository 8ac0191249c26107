import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { connected, connectSocket, type TestSocket } from './support/socket-client';
import { openStream } from './support/stream-client';
import { startTestApp, type RunningApp } from './support/test-app';
import { signJwt } from './support/tokens';
import { waitFor } from './support/wait';

const SECRET = 'team-roles-secret-long-enough-0123456789';
const KEY = 'team-roles-admin-key-0123456789';

interface Problem {
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
}

/**
 * docs/design.md §9's three roles, on a gateway with both credentials configured: admin (API key, JWT
 * role admin), viewer (any other JWT: reads only), member (a member token, or a JWT naming a
 * member: its own usage and events).
 */
describe('team members and roles', () => {
  let db: TestDatabase;
  let app: RunningApp;
  let viewer: string;
  let adminJwt: string;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const sockets: TestSocket[] = [];

  const call = async (
    method: string,
    path: string,
    auth: Record<string, string>,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> => {
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: {
        ...auth,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
  const admin = { 'x-api-key': KEY };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const hook = (session: string, prompt: string) => ({
    hook_event_name: 'UserPromptSubmit',
    session_id: session,
    prompt,
  });

  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp({ ...db.env, AUTH_JWT_SECRET: SECRET, API_KEYS: KEY });
    viewer = await signJwt({ sub: 'vera' }, SECRET);
    adminJwt = await signJwt({ sub: 'root', role: 'admin' }, SECRET);
    for (const name of ['alice', 'bob']) {
      const created = await call('POST', '/api/team/members', admin, {
        name,
        email: `${name}@example.com`,
      });
      expect(created.status).toBe(201);
      const member = created.json as { id: string; token: string; token_hint: string };
      expect(member.token).toMatch(/^ugm_[A-Za-z0-9_-]{43}$/);
      expect(member.token.startsWith(member.token_hint)).toBe(true);
      tokens[name] = member.token;
      ids[name] = member.id;
    }
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await app?.close();
    await db?.drop();
  });

  it('lists members without their tokens; names are unique and checked', async () => {
    const list = await call('GET', '/api/team/members', admin);
    expect(list.status).toBe(200);
    const { members } = list.json as { members: Record<string, unknown>[] };
    expect(members.map((m) => m.name)).toEqual(['alice', 'bob']);
    for (const m of members) expect(m).not.toHaveProperty('token');
    expect(JSON.stringify(list.json)).not.toContain(tokens.alice);

    const twice = await call('POST', '/api/team/members', admin, { name: 'alice' });
    expect(twice.status).toBe(409);
    const bad = await call('POST', '/api/team/members', admin, {
      name: 'no spaces allowed',
      email: 'not-an-email',
    });
    expect(bad.status).toBe(400);
    expect((bad.json as Problem).errors?.map((e) => e.field).sort()).toEqual(['email', 'name']);
  });

  it('a viewer reads but cannot change config, broadcast or manage members', async () => {
    expect((await call('GET', '/api/events', bearer(viewer))).status).toBe(200);
    expect((await call('GET', '/api/usage/config', bearer(viewer))).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/api/usage/config', { plan: 'max5' }],
      ['POST', '/api/usage/config/reset', {}],
      ['POST', '/api/broadcasts', { event_type: 'custom.note', room: 'global', data: {} }],
      ['POST', '/api/team/members', { name: 'mallory' }],
      ['DELETE', `/api/team/members/${ids.bob}`, undefined],
      ['POST', '/api/events', hook('v-1', 'hello')],
    ] as const) {
      const res = await call(method, path, bearer(viewer), body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((res.json as Problem).detail).toContain('a viewer may only read');
    }
    // Members (names, emails) are an admin's to see.
    expect((await call('GET', '/api/team/members', bearer(viewer))).status).toBe(403);
    // The stored config is unchanged by the refused POST.
    const config = await call('GET', '/api/usage/config', admin);
    expect((config.json as { plan: string }).plan).not.toBe('max5');
  });

  it('an admin JWT and the API key may do what a viewer may not', async () => {
    const res = await call('POST', '/api/broadcasts', bearer(adminJwt), {
      event_type: 'custom.note',
      room: 'global',
      data: { by: 'root' },
    });
    expect(res.status).toBe(201);
  });

  it('a member writes events as itself and reads only its own', async () => {
    const a = await call('POST', '/api/events', bearer(tokens.alice), hook('a-1', 'alice secret'));
    const b = await call('POST', '/api/events', bearer(tokens.bob), hook('b-1', 'bob secret'));
    expect([a.status, b.status]).toEqual([201, 201]);

    const mine = await call('GET', '/api/events', bearer(tokens.alice));
    expect(mine.status).toBe(200);
    const events = (mine.json as { events: { member: string; payload: { prompt: string } }[] })
      .events;
    expect(events.map((e) => e.payload.prompt)).toEqual(['alice secret']);
    expect(events.every((e) => e.member === 'alice')).toBe(true);
    // Asking for bob's is still only alice's: the member filter is forced.
    const asked = await call('GET', '/api/events?member=bob', bearer(tokens.alice));
    expect(JSON.stringify(asked.json)).not.toContain('bob secret');

    // An admin sees both, attributed.
    const all = await call('GET', '/api/events', admin);
    const byMember = (all.json as { events: { member: string | null }[] }).events.map(
      (e) => e.member,
    );
    expect(byMember).toEqual(expect.arrayContaining(['alice', 'bob']));
    const bobs = await call('GET', '/api/events?member=bob', admin);
    expect((bobs.json as { count: number }).count).toBe(1);
  });

  it('a member cannot read the team-wide routes nor write anything but its own usage', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/usage/stats', undefined],
      ['GET', '/api/usage/reports/daily', undefined],
      ['GET', '/api/events/filter-options', undefined],
      ['GET', '/api/team/members', undefined],
      ['GET', '/api/alerts', undefined],
      ['POST', '/api/usage/config', { plan: 'pro' }],
      ['POST', '/api/broadcasts', { event_type: 'custom.note', room: 'global', data: {} }],
    ] as const) {
      const res = await call(method, path, bearer(tokens.alice), body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((res.json as Problem).detail).toContain('a member token may only');
    }
    // The team's summary, reports and counters (no prompts in them): allowed.
    for (const path of [
      '/api/team/usage',
      '/api/team/usage/reports/daily?group_by=member',
      '/api/team/usage/metrics',
    ])
      expect((await call('GET', path, bearer(tokens.alice))).status, path).toBe(200);
    // Its own official limits: allowed, and named as its own.
    const limits = await call('GET', '/api/usage/limits', bearer(tokens.alice));
    expect(limits.status).toBe(200);
    expect((limits.json as { member: string }).member).toBe('alice');
  });

  it('a JWT whose sub names a member acts as that member', async () => {
    const jwt = await signJwt({ sub: 'bob' }, SECRET);
    const posted = await call('POST', '/api/events', bearer(jwt), hook('b-2', 'bob by jwt'));
    expect(posted.status).toBe(201);
    const mine = await call('GET', '/api/events', bearer(jwt));
    const prompts = (mine.json as { events: { payload: { prompt: string } }[] }).events.map(
      (e) => e.payload.prompt,
    );
    expect(prompts).toEqual(['bob secret', 'bob by jwt']);
  });

  it('on both socket transports a member gets its own events, never another member’s', async () => {
    const alice = connectSocket(app.url, { auth: { token: tokens.alice } });
    const team = connectSocket(app.url, { auth: { api_key: KEY } });
    sockets.push(alice, team);
    await Promise.all([connected(alice), connected(team)]);
    const established = await alice.next('connection_established');
    expect((established.message.data as { rooms: string[] }).rooms).toEqual(['member:alice']);
    // Its initial events are its own.
    const initial = await alice.next('initial');
    const initialPrompts = (
      initial.message.data as { events: { payload: { prompt: string } }[] }
    ).events.map((e) => e.payload.prompt);
    expect(initialPrompts).toEqual(['alice secret']);
    expect((initial.message.data as { usage: unknown }).usage).toBeNull();
    await team.next('initial');

    const refused = await alice.emitAck<{ status: string; code: string }>('subscribe', {
      room: 'global',
    });
    expect(refused).toMatchObject({ status: 'error', code: 'forbidden' });
    const other = await alice.emitAck<{ status: string }>('subscribe', { room: 'member:bob' });
    expect(other.status).toBe('error');
    const metrics = await alice.emitAck<{ status: string }>('subscribe_metrics', { skill: null });
    expect(metrics.status).toBe('error');

    const stream = await openStream(app.url, '', bearer(tokens.alice));
    await stream.next('initial');

    await call('POST', '/api/events', bearer(tokens.bob), hook('b-3', 'bob live'));
    await call('POST', '/api/events', bearer(tokens.alice), hook('a-3', 'alice live'));
    // The team socket (in `global`) sees both; once it has alice's (sent second), bob's went out.
    await waitFor(
      () => (team.received.filter((r) => r.event === 'event').length >= 2 ? true : undefined),
      5000,
      'both live events on the team socket',
    );
    const live = await alice.next('event');
    expect((live.message.data as { payload: { prompt: string } }).payload.prompt).toBe(
      'alice live',
    );
    const frame = await stream.next('event');
    expect((frame.data as { payload: { prompt: string } }).payload.prompt).toBe('alice live');
    const seen = JSON.stringify([alice.received, stream.frames]);
    expect(seen).not.toContain('bob');
    stream.ws.close();
  });

  it('a revoked token is refused at once; the member’s events stay', async () => {
    const revoked = await call('DELETE', `/api/team/members/${ids.alice}`, admin);
    expect(revoked.status).toBe(200);
    expect((revoked.json as { revoked_at: string | null }).revoked_at).not.toBeNull();
    const refused = await call('POST', '/api/events', bearer(tokens.alice), hook('a-4', 'x'));
    expect(refused.status).toBe(401);
    expect((refused.json as Problem).detail).toContain('member token is not valid');
    const kept = await call('GET', '/api/events?member=alice', admin);
    expect((kept.json as { count: number }).count).toBe(2);
    const s = connectSocket(app.url, { auth: { token: tokens.alice } });
    sockets.push(s);
    await expect(connected(s)).rejects.toThrow(/unauthorized/);
  });
});
