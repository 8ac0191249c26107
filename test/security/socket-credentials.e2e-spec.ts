import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from '../support/databases';
import { connected, connectSocket, type TestSocket } from '../support/socket-client';
import { openStream } from '../support/stream-client';
import { TestClock } from '../support/test-clock';
import { startTestApp, type RunningApp } from '../support/test-app';
import { signJwt } from '../support/tokens';
import { waitFor } from '../support/wait';

const SECRET = 'socket-credential-secret-long-enough!!';
const KEY = 'socket-credential-admin-key-0123';
/** The verifier's clock skew: a token is good until exp + 30 s. */
const SKEW_MS = 30_000;

describe('sockets re-check the credential', () => {
  let db: TestDatabase;
  let app: RunningApp;
  const clock = new TestClock();
  const sockets: TestSocket[] = [];
  const token = (claims: Record<string, unknown>, lifetimeS = 60) =>
    signJwt({ ...claims, exp: Math.floor(clock.now() / 1000) + lifetimeS }, SECRET);

  const open = async (auth: Record<string, unknown>) => {
    const s = connectSocket(app.url, { auth });
    sockets.push(s);
    await connected(s);
    await s.next('initial');
    return s;
  };
  const broadcast = async (room: string, data: Record<string, unknown>) => {
    const res = await fetch(`${app.url}/api/broadcasts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify({ event_type: 'custom.note', room, data }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: number }).id;
  };
  /** A sentinel on `global`, awaited: whatever was sent before it has arrived (no sleeping). */
  const settle = async (...clients: TestSocket[]) => {
    const marker = randomUUID();
    await broadcast('global', { marker });
    for (const client of clients)
      await waitFor(
        () =>
          client.received.find(
            (r) => (r.message.data as { marker?: string } | undefined)?.marker === marker,
          ),
        5000,
        'the sentinel',
      );
  };
  const notes = (client: TestSocket, room: string) =>
    client.received.filter(
      (r) => r.event === 'custom.note' && (r.message.data as { room?: string }).room === room,
    );

  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp({ ...db.env, AUTH_JWT_SECRET: SECRET, API_KEYS: KEY }, 0, {
      clock: clock.now,
    });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('disconnects a Socket.IO client when its token expires mid-connection, and keeps one that re-authenticated in place', async () => {
    const short = await open({ token: await token({ sub: 'alice' }) });
    const renewed = await open({ token: await token({ sub: 'bob' }) });
    const ack = await renewed.emitAck<{ status: string; expires_at: number }>('authenticate', {
      token: await token({ sub: 'bob' }, 3600),
    });
    expect(ack).toMatchObject({ status: 'success' });
    expect(ack.expires_at).toBeGreaterThan(clock.now() + 3000_000);
    const gone = new Promise<string>((resolve) => short.socket.once('disconnect', resolve));

    clock.advance(60_000 + SKEW_MS + 1000);
    expect(await gone).toBe('io server disconnect');
    const error = await short.next('error');
    expect(error.message.data).toMatchObject({ code: 'unauthorized' });
    expect((error.message.data as { message: string }).message).toMatch(/^expired/);
    // The sweep that ended `short` left `renewed` connected, and it still receives.
    expect(renewed.socket.connected).toBe(true);
    await settle(renewed);
  });

  it('refuses a re-authentication with a bad token and keeps the connection as it was', async () => {
    const client = await open({ token: await token({ sub: 'carol' }, 3600) });
    const ack = await client.emitAck<{ status: string; code: string }>('authenticate', {
      token: 'not-a-token',
    });
    expect(ack).toMatchObject({ status: 'error', code: 'unauthorized' });
    expect(client.socket.connected).toBe(true);
  });

  it('closes a /stream client at its token expiry; `auth` on the open stream renews it', async () => {
    const short = await openStream(app.url, `?token=${await token({ sub: 'alice' })}`);
    await short.next('initial');
    const renewed = await openStream(app.url, `?token=${await token({ sub: 'bob' })}`);
    await renewed.next('initial');
    renewed.send({ type: 'auth', id: 1, token: await token({ sub: 'bob' }, 3600) });
    const ack = await renewed.next('ack');
    expect(ack.data).toMatchObject({ status: 'success', type: 'auth', id: 1 });

    clock.advance(60_000 + SKEW_MS + 1000);
    expect(await short.closed).toEqual({ code: 4401, reason: 'unauthorized: expired' });
    expect(renewed.ws.readyState).toBe(renewed.ws.OPEN);
    renewed.ws.close();
  });

  it('puts a reconnecting client back only in the rooms its new credential grants, before any missed event', async () => {
    const alice = await open({
      token: await token({ sub: 'alice', projects: ['beta'] }, 3600),
    });
    expect(await alice.emitAck('subscribe', { room: 'project:beta' })).toMatchObject({
      status: 'success',
    });
    await broadcast('project:beta', { room: 'project:beta', n: 1 });
    await settle(alice);
    expect(notes(alice, 'project:beta')).toHaveLength(1);
    const lastId = Math.max(...alice.received.map((r) => r.message.event_id ?? 0));
    alice.close();

    // While nobody is connected, beta gets an event.
    await broadcast('project:beta', { room: 'project:beta', n: 2 });

    // Another user, presenting alice's cursor and asking for her room: refused the room, and the
    // missed beta event is not replayed to him.
    const mallory = await open({
      token: await token({ sub: 'mallory', projects: [] }, 3600),
      last_event_id: lastId,
      rooms: ['project:beta'],
    });
    const greeting = await mallory.next('connection_established');
    expect(greeting.message.data).toMatchObject({
      rooms: ['global'],
      refused_rooms: ['project:beta'],
    });
    await broadcast('project:beta', { room: 'project:beta', n: 3 });
    await settle(mallory);
    expect(notes(mallory, 'project:beta')).toHaveLength(0);

    // Alice herself gets her room back and the event she missed, in order, then live ones.
    const back = await open({
      token: await token({ sub: 'alice', projects: ['beta'] }, 3600),
      last_event_id: lastId,
      rooms: ['project:beta'],
    });
    expect((await back.next('connection_established')).message.data).toMatchObject({
      rooms: ['global', 'project:beta'],
    });
    await settle(back);
    expect(notes(back, 'project:beta').map((r) => (r.message.data as { n: number }).n)).toEqual([
      2, 3,
    ]);
  });

  it('leaves the rooms a renewed token no longer grants, at once', async () => {
    const alice = await open({ token: await token({ sub: 'alice', projects: ['beta'] }, 3600) });
    await alice.emitAck('subscribe', { room: 'project:beta' });
    const ack = await alice.emitAck<{ status: string; rooms: string[]; left: string[] }>(
      'authenticate',
      { token: await token({ sub: 'alice', projects: [] }, 3600) },
    );
    expect(ack).toMatchObject({ status: 'success', rooms: ['global'], left: ['project:beta'] });
    await broadcast('project:beta', { room: 'project:beta', n: 4 });
    await settle(alice);
    expect(notes(alice, 'project:beta')).toHaveLength(0);
  });
});
