import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signJwt } from './support/tokens';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { startTestApp, type RunningApp } from './support/test-app';
import { openStream, type StreamClient } from './support/stream-client';

const post = (url: string, session: string) =>
  fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hook_event_name: 'Notification', session_id: session, cwd: '/x/shop' }),
  }).then(async (r) => ((await r.json()) as { id: number }).id);

describe('/stream (plain WebSocket)', () => {
  let db: TestDatabase;
  let app: RunningApp;
  const clients: StreamClient[] = [];
  const open = async (query = '', headers: Record<string, string> = {}) => {
    const client = await openStream(app.url, query, headers);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp({ ...db.env, WS_RATE_LIMIT_PER_SEC: '20' });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.ws.terminate();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('greets, then carries the same events as JSON frames {type, data, timestamp}', async () => {
    const before = await post(app.url, 's-old');
    const client = await open();
    expect((await client.next('connection_established')).data).toMatchObject({
      protocol_version: 1,
      rooms: ['global'],
    });
    const initial = await client.next('initial');
    expect((initial.data.events as Array<{ id: number }>).map((e) => e.id)).toEqual([before]);
    const id = await post(app.url, 's-1');
    const frame = await client.next('event');
    expect(frame).toMatchObject({ type: 'event', event_id: id, data: { id, session_id: 's-1' } });
    expect(typeof frame.timestamp).toBe('number');
    const stats = (await (await fetch(`${app.url}/api/realtime/stats`)).json()) as {
      stream_connections: number;
    };
    expect(stats.stream_connections).toBe(1);
  });

  it('subscribes to rooms, answers ping and usage requests, refuses bad messages', async () => {
    const client = await open();
    await client.next('initial');
    client.send({ type: 'subscribe', room: 'session:only-me', id: 1 });
    expect((await client.next('ack')).data).toMatchObject({
      status: 'success',
      type: 'subscribe',
      id: 1,
      rooms: ['global', 'session:only-me'],
    });
    client.send({ type: 'unsubscribe', room: 'global', id: 2 });
    expect((await client.next('ack', 1)).data).toMatchObject({
      status: 'success',
      id: 2,
      rooms: ['session:only-me'],
    });
    const other = await post(app.url, 'someone-else');
    const mine = await post(app.url, 'only-me');
    await client.next('event');
    expect(client.frames.filter((f) => f.type === 'event').map((f) => f.event_id)).toEqual([mine]);
    expect(other).toBeLessThan(mine);
    client.send({ type: 'ping' });
    await client.next('pong');
    client.send({ type: 'request_usage_update' });
    expect((await client.next('usage_update')).data).toMatchObject({ source: 'default' });
    client.send('not json');
    client.send({ type: 'dance' });
    client.send({ type: 'subscribe', room: 'lobby' });
    await client.next('error', 2);
    expect(client.frames.filter((f) => f.type === 'error').map((f) => f.data.code)).toEqual([
      'bad_request',
      'bad_request',
      'bad_request',
    ]);
  });

  it('sends metrics_update to /stream clients that subscribe to metrics', async () => {
    const client = await open();
    await client.next('initial');
    client.send({ type: 'subscribe_metrics', skill: null });
    expect((await client.next('subscription_confirmed')).data).toEqual({ skill: null });
    expect((await client.next('metrics_update')).data).toMatchObject({
      top_skills: [],
      anomalies: [],
    });
  });

  it('rate limits a flood and then closes the connection', async () => {
    const client = await open();
    await client.next('initial');
    for (let i = 0; i < 200; i++) client.send({ type: 'ping' });
    expect((await client.closed).code).toBe(4429);
    expect(client.frames.some((f) => f.type === 'error' && f.data.code === 'rate_limited')).toBe(
      true,
    );
  });

  it('refuses foreign origins and unknown upgrade paths', async () => {
    await expect(openStream(app.url, '', { origin: 'http://evil.example' })).rejects.toThrow(
      'HTTP 403',
    );
    // The gateway's own origin (its dashboard) is always welcome.
    (await openStream(app.url, '', { origin: app.url })).ws.terminate();
    const ws = new WebSocket(`${app.url.replace('http', 'ws')}/elsewhere`);
    await expect(
      new Promise((_, reject) => {
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.once('error', reject);
      }),
    ).rejects.toThrow(/404|socket hang up/);
  });
});

describe('/stream with auth', () => {
  const secret = 'stream-test-secret-that-is-long-enough';
  let db: TestDatabase;
  let app: RunningApp;
  const token = (sub: string) => signJwt({ sub, exp: Math.floor(Date.now() / 1000) + 60 }, secret);

  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp({ ...db.env, AUTH_JWT_SECRET: secret });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('takes the token in the query or as the first message, and refuses bad ones', async () => {
    await expect(openStream(app.url, '?token=forged.token.here')).rejects.toThrow('HTTP 401');
    const viaQuery = await openStream(app.url, `?token=${await token('alice')}`);
    await viaQuery.next('initial');
    viaQuery.send({ type: 'subscribe', room: 'user:bob' });
    expect((await viaQuery.next('error')).data.code).toBe('forbidden');
    viaQuery.ws.terminate();

    const viaMessage = await openStream(app.url);
    viaMessage.send({ type: 'auth', token: await token('bob') });
    await viaMessage.next('initial');
    viaMessage.ws.terminate();

    const anonymous = await openStream(app.url);
    anonymous.send({ type: 'ping' });
    expect((await anonymous.closed).code).toBe(4401);
    expect(anonymous.frames.filter((f) => f.type === 'initial')).toHaveLength(0);
  });
});
