import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from './support/tokens';
import { BridgeStatusPublisher } from '../src/bridge/bridge-status.publisher';
import { createTestDatabase, type TestDatabase } from './support/databases';
import { connected, connectSocket, type TestSocket } from './support/socket-client';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

type Ack = { status: 'success' | 'error'; code?: string; [k: string]: unknown };

async function postEvent(url: string, body: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`POST /api/events ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: number }).id;
}

const hook = (session: string, type = 'Notification', extra: Record<string, unknown> = {}) => ({
  hook_event_name: type,
  session_id: session,
  cwd: '/home/dev/shop',
  ...extra,
});

/** Pings until the server's clock (a pong's `server_time`) is at least `t`; answers that time. */
async function serverPast(client: TestSocket, t: number): Promise<number> {
  let at = 0;
  await waitFor(
    async () => {
      const pongs = client.received.filter((r) => r.event === 'pong').length;
      await client.emitAck('ping');
      const pong = await client.next('pong', 3000, pongs);
      at = (pong.message.data as { server_time: number }).server_time;
      return at >= t || undefined;
    },
    10_000,
    `the server's clock past ${t}`,
  );
  return at;
}

describe('realtime gateway', () => {
  let db: TestDatabase;
  let app: RunningApp;
  const sockets: TestSocket[] = [];
  const open = async (auth?: Record<string, unknown>) => {
    const client = connectSocket(app.url, { auth });
    sockets.push(client);
    await connected(client);
    return client;
  };

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await startTestApp({ ...db.env, WS_RATE_LIMIT_PER_SEC: '20' });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('greets with connection_established and initial (last 50 events, usage, bridge)', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 55; i++)
      ids.push(await postEvent(app.url, hook('greet', 'Notification', { n: i })));
    const client = await open();
    const established = await client.next('connection_established');
    expect(established.message.data).toMatchObject({ protocol_version: 1, rooms: ['global'] });
    expect(established.message.type).toBe('connection_established');
    const initial = (await client.next('initial')).message.data as {
      events: Array<{ id: number }>;
      usage: unknown;
      usage_source: string;
      bridge: unknown;
    };
    expect(initial.events.map((e) => e.id)).toEqual(ids.slice(-50));
    expect(initial).toMatchObject({ usage: null, usage_source: 'default' });
    expect(client.received.findIndex((r) => r.event === 'connection_established')).toBeLessThan(
      client.received.findIndex((r) => r.event === 'initial'),
    );
  });

  it('delivers a posted event to global, and to session rooms only for their session', async () => {
    const all = await open();
    const onlyA = await open();
    await all.next('initial');
    await onlyA.next('initial');
    expect(await onlyA.emitAck<Ack>('subscribe', { room: 'session:sess-A' })).toMatchObject({
      status: 'success',
    });
    expect(await onlyA.emitAck<Ack>('unsubscribe', { room: 'global' })).toMatchObject({
      status: 'success',
      rooms: ['session:sess-A'],
    });
    const idA = await postEvent(app.url, hook('sess-A'));
    const got = await all.next('event');
    expect(got.message).toMatchObject({ type: 'event', event_id: idA, session_id: 'sess-A' });
    const idB = await postEvent(app.url, hook('sess-B'));
    await all.next('event', 3000, 1);
    await onlyA.next('event');
    // A last event for sess-A reaches both: anything sent to them before has arrived by then.
    const sentinel = await postEvent(app.url, hook('sess-A'));
    await waitFor(() => all.eventIds().includes(sentinel), 5000, 'the sentinel (all)');
    await waitFor(() => onlyA.eventIds().includes(sentinel), 5000, 'the sentinel (onlyA)');
    expect(all.eventIds()).toEqual([idA, idB, sentinel]);
    expect(onlyA.eventIds()).toEqual([idA, sentinel]);

    const stats = (await (await fetch(`${app.url}/api/realtime/stats`)).json()) as {
      connections: number;
      rooms: Record<string, number>;
      events_emitted: number;
    };
    expect(stats.connections).toBe(2);
    expect(stats.rooms).toMatchObject({ global: 1, 'session:sess-A': 1 });
    expect(stats.events_emitted).toBeGreaterThanOrEqual(3);
  });

  it('replays every event missed while disconnected, in order, exactly once, then live ones', async () => {
    const first = await open();
    await first.next('initial');
    const seen = await postEvent(app.url, hook('replay'));
    await first.next('event');
    first.close();

    const missed: number[] = [];
    for (let i = 0; i < 100; i++)
      missed.push(await postEvent(app.url, hook('replay', 'Notification', { i })));
    // Keep posting while the client reconnects: nothing may be lost or doubled at the seam.
    let posting = true;
    const during: number[] = [];
    const poster = (async () => {
      while (posting) {
        during.push(await postEvent(app.url, hook('replay', 'Notification', { during: true })));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const again = await open({ last_event_id: seen });
    await waitFor(() => again.eventIds().length >= 100, 5000, '100 replayed events');
    // A few more posted once the client is live again, then the poster stops.
    const live = during.length;
    await waitFor(() => during.length >= live + 5 || undefined, 5000, 'posts after the replay');
    posting = false;
    await poster;
    const after = await postEvent(app.url, hook('replay', 'Notification', { after: true }));
    await waitFor(() => again.eventIds().includes(after), 3000, 'the live event after replay');
    const initial = (await again.next('initial')).message.data as { events: unknown[] };
    expect(initial.events).toEqual([]);
    expect(again.eventIds()).toEqual([...missed, ...during, after]);
  });

  it('refuses bad client messages with an error and a nack, and keeps serving', async () => {
    const client = await open();
    await client.next('initial');
    const bad = await client.emitAck<Ack>('subscribe', { room: 5, extra: true });
    expect(bad).toMatchObject({ status: 'error', code: 'bad_request' });
    expect(
      [...new Set((bad.errors as Array<{ field: string }>).map((e) => e.field))].sort(),
    ).toEqual(['extra', 'room']);
    expect(await client.emitAck<Ack>('subscribe', 'global')).toMatchObject({
      status: 'error',
      code: 'bad_request',
    });
    expect(await client.emitAck<Ack>('subscribe', { room: 'nowhere' })).toMatchObject({
      status: 'error',
      code: 'bad_request',
    });
    expect(await client.emitAck<Ack>('request_usage_update', { session_id: '<x>' })).toMatchObject({
      status: 'error',
      code: 'bad_request',
    });
    expect((await client.next('error')).message.data).toMatchObject({ code: 'bad_request' });
    expect(await client.emitAck<Ack>('ping')).toMatchObject({ status: 'success' });
    await client.next('pong');
    const usage = await client.emitAck<Ack>('request_usage_update', {});
    expect(usage).toMatchObject({ status: 'success', source: 'default' });
    expect((await client.next('usage_update')).message.data).toMatchObject({ source: 'default' });
  });

  it('sends usage_update to a session at most once per 2 s after tool events, coalescing the rest', async () => {
    const client = await open();
    await client.next('initial');
    await client.emitAck('subscribe', { room: 'session:busy' });
    for (let i = 0; i < 5; i++)
      await postEvent(app.url, hook('busy', 'PreToolUse', { tool_name: 'Read' }));
    const first = await client.next('usage_update');
    expect(first.message).toMatchObject({ session_id: 'busy', data: { source: 'default' } });
    const second = await client.next('usage_update', 4000, 1);
    // The server's own timestamps: the trailing update waits out the 2 s window.
    expect(
      (second.message.timestamp as number) - (first.message.timestamp as number),
    ).toBeGreaterThanOrEqual(1990);
    // Nothing more once a whole window has passed by the server's clock (its pong's time).
    await serverPast(client, (second.message.timestamp as number) + 2100);
    expect(client.received.filter((r) => r.event === 'usage_update')).toHaveLength(2);
    // Event types that do not concern usage trigger nothing: the Notification reaches the
    // session's room, and a window later still no update.
    const notification = await postEvent(app.url, hook('busy', 'Notification'));
    await waitFor(() => client.eventIds().includes(notification), 3000, 'the Notification');
    const seenAt = (await serverPast(client, 0)) + 2100;
    await serverPast(client, seenAt);
    expect(client.received.filter((r) => r.event === 'usage_update')).toHaveLength(2);
  }, 10_000);

  it('pushes no usage to a session nobody watches (no read, no emit beside the fan-out)', async () => {
    const pushed = async () => {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      return Number(
        /^realtime_events_emitted_total\{type="usage_update"\} (\d+)/m.exec(text)?.[1] ?? 0,
      );
    };
    const client = await open();
    await client.next('initial');
    const before = await pushed();
    const id = await postEvent(app.url, hook('unwatched', 'PostToolUse', { tool_name: 'Bash' }));
    await waitFor(() => client.eventIds().includes(id), 3000, 'the event on global');
    await serverPast(client, (await serverPast(client, 0)) + 2100);
    expect(await pushed()).toBe(before);
    // Once someone watches the session, its tool events bring usage again.
    await client.emitAck('subscribe', { room: 'session:unwatched' });
    await postEvent(app.url, hook('unwatched', 'PostToolUse', { tool_name: 'Bash' }));
    expect((await client.next('usage_update')).message).toMatchObject({ session_id: 'unwatched' });
    expect(await pushed()).toBe(before + 1);
  }, 10_000);

  it('counts connections in /metrics, down again when a client leaves', async () => {
    const gauge = async () => {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      return Number(/^realtime_connections (\d+)/m.exec(text)?.[1]);
    };
    const client = await open();
    await client.next('initial');
    const during = await gauge();
    expect(during).toBeGreaterThanOrEqual(1);
    client.close();
    // (Sockets of earlier tests may still be closing: the count only has to go down.)
    await waitFor(async () => ((await gauge()) < during ? true : undefined), 5000, 'one less');
  });

  it('broadcasts bridge_status on every transition', async () => {
    const client = await open();
    await client.next('initial');
    const publisher = app.app.get(BridgeStatusPublisher);
    publisher.update({ healthy: true, state: 'ready', circuit: 'closed', reason: null });
    publisher.update({ healthy: true, state: 'ready', circuit: 'closed', reason: null });
    publisher.update({ healthy: false, state: 'restarting', reason: 'process exited' });
    publisher.update({ healthy: true, state: 'ready', reason: null });
    // The third transition arrives last: a doubled one would have come before it.
    await client.next('bridge_status', 3000, 2);
    expect(
      client.received.filter((r) => r.event === 'bridge_status').map((r) => r.message.data),
    ).toEqual([
      { healthy: true, state: 'ready', reason: null },
      { healthy: false, state: 'restarting', reason: 'process exited' },
      { healthy: true, state: 'ready', reason: null },
    ]);
  });

  it('rate limits a flood from one socket, then disconnects it; others are not slowed', async () => {
    const flooder = await open();
    const bystander = await open();
    await flooder.next('initial');
    await bystander.next('initial');
    // The bystander keeps pinging throughout (its latency under a flood: bench/fanout).
    let answered = 0;
    let measuring = true;
    const prober = (async () => {
      while (measuring) {
        await bystander.emitAck('ping');
        answered++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const disconnected = new Promise<string>((resolve) =>
      flooder.socket.once('disconnect', resolve),
    );
    for (let i = 0; i < 1000; i++) {
      flooder.socket.emit('ping');
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 50));
      if (flooder.socket.disconnected) break;
    }
    expect(await disconnected).toBe('io server disconnect');
    const errors = flooder.received
      .filter((r) => r.event === 'error')
      .map((r) => r.message.data as { code: string });
    expect(errors[0]).toMatchObject({ code: 'rate_limited' });
    expect(flooder.received.filter((r) => r.event === 'pong').length).toBeLessThanOrEqual(25);
    const before = answered;
    await waitFor(() => answered >= before + 3 || undefined, 5000, 'the bystander still answered');
    measuring = false;
    await prober;
    expect(bystander.socket.connected).toBe(true);
  });
});

describe('realtime gateway with auth and limits', () => {
  const secret = 'socket-test-secret-that-is-long-enough';
  let db: TestDatabase;
  let app: RunningApp;
  const sockets: TestSocket[] = [];
  const token = (claims: Record<string, unknown>) =>
    signJwt({ exp: Math.floor(Date.now() / 1000) + 60, ...claims }, secret);
  const attempt = async (auth?: Record<string, unknown>, extraHeaders?: Record<string, string>) => {
    const client = connectSocket(app.url, { auth, extraHeaders });
    sockets.push(client);
    try {
      await connected(client);
      return { client, error: undefined };
    } catch (error) {
      return { client, error: (error as Error).message };
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    app = await startTestApp({ ...db.env, AUTH_JWT_SECRET: secret, WS_MAX_CONNECTIONS: '3' });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('refuses a missing, badly signed or expired token before connecting', async () => {
    expect((await attempt()).error).toBe('unauthorized: missing');
    const forged = await signJwt(
      { sub: 'a', exp: Math.floor(Date.now() / 1000) + 60 },
      'another-secret-of-enough-length-000',
    );
    expect((await attempt({ token: forged })).error).toBe('unauthorized: bad_signature');
    const expired = await signJwt({ sub: 'a', exp: Math.floor(Date.now() / 1000) - 120 }, secret);
    expect((await attempt({ token: expired })).error).toBe('unauthorized: expired');
    expect((await attempt({ token: await token({ sub: 'a' }), last_event_id: -3 })).error).toMatch(
      /last_event_id/,
    );
    expect((await attempt({ token: await token({ sub: 'a' }) })).error).toBeUndefined();
  });

  it('lets a token join only its own user room and the projects it grants', async () => {
    const { client } = await attempt({ token: await token({ sub: 'alice', projects: ['shop'] }) });
    expect(await client.emitAck<Ack>('subscribe', { room: 'user:alice' })).toMatchObject({
      status: 'success',
    });
    expect(await client.emitAck<Ack>('subscribe', { room: 'user:bob' })).toMatchObject({
      status: 'error',
      code: 'forbidden',
    });
    expect(await client.emitAck<Ack>('subscribe', { room: 'project:shop' })).toMatchObject({
      status: 'success',
    });
    expect(await client.emitAck<Ack>('subscribe', { room: 'project:bank' })).toMatchObject({
      status: 'error',
      code: 'forbidden',
    });
    const { client: admin } = await attempt({ token: await token({ sub: 'root', role: 'admin' }) });
    expect(await admin.emitAck<Ack>('subscribe', { room: 'project:bank' })).toMatchObject({
      status: 'success',
    });
  });

  it('refuses origins outside CORS_ORIGINS and connections beyond WS_MAX_CONNECTIONS', async () => {
    const evil = await attempt(
      { token: await token({ sub: 'a' }) },
      { origin: 'http://evil.example' },
    );
    expect(evil.error).toBeDefined();
    const good = await attempt(
      { token: await token({ sub: 'a' }) },
      { origin: 'http://localhost:3000' },
    );
    expect(good.error).toBeUndefined();
    for (let i = 0; i < 2; i++)
      expect((await attempt({ token: await token({ sub: 'a' }) })).error).toBeUndefined();
    expect((await attempt({ token: await token({ sub: 'a' }) })).error).toBeDefined();
  });
});
