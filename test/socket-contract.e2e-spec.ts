import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { connected, connectSocket } from './support/socket-client';
import { openStream } from './support/stream-client';
import { startTestApp, type RunningApp } from './support/test-app';
import { signJwt } from './support/tokens';
import { waitFor } from './support/wait';

/**
 * The client contract of docs/design.md §5, run on both transports: Socket.IO (acks) and `/stream` (the
 * same ack in an `ack` frame). One session handler serves both, so every case must hold on each.
 */
type Ack = {
  status: 'success' | 'error';
  code?: string;
  errors?: Array<{ field: string }>;
} & Record<string, unknown>;

interface ContractClient {
  /** Sends a command and resolves with its ack. */
  command(type: string, body?: Record<string, unknown>): Promise<Ack>;
  /** Resolves with the `n`th (0-based) server event of `type`: its envelope. */
  event(type: string, n?: number): Promise<{ type: string; data: unknown; session_id?: string }>;
  count(type: string): number;
  close(): void;
}

type Open = (
  url: string,
  credentials?: { token?: string; lastEventId?: unknown },
) => Promise<ContractClient>;

const socketIo: Open = async (url, credentials = {}) => {
  const client = connectSocket(url, {
    auth: {
      ...(credentials.token ? { token: credentials.token } : {}),
      ...(credentials.lastEventId === undefined ? {} : { last_event_id: credentials.lastEventId }),
    },
  });
  await connected(client);
  await client.next('initial');
  return {
    command: (type, body) => client.emitAck<Ack>(type, body ?? {}),
    event: async (type, n = 0) => (await client.next(type, 3000, n)).message,
    count: (type) => client.received.filter((r) => r.event === type).length,
    close: () => client.close(),
  };
};

const stream: Open = async (url, credentials = {}) => {
  const query = new URLSearchParams();
  if (credentials.token) query.set('token', credentials.token);
  if (credentials.lastEventId !== undefined)
    query.set('last_event_id', String(credentials.lastEventId));
  const client = await openStream(url, query.size ? `?${query}` : '');
  await client.next('initial');
  let nextId = 0;
  return {
    command: async (type, body) => {
      const id = ++nextId;
      client.send({ ...body, type, id });
      const frame = await waitFor(
        () => client.frames.find((f) => f.type === 'ack' && f.data.id === id),
        3000,
        `the ack of ${type}`,
      );
      const { type: _command, id: _id, ...ack } = frame.data;
      return ack as Ack;
    },
    event: (type, n = 0) => client.next(type, n),
    count: (type) => client.frames.filter((f) => f.type === type).length,
    close: () => client.ws.close(),
  };
};

const TRANSPORTS: Array<[string, Open]> = [
  ['Socket.IO', socketIo],
  ['/stream', stream],
];

describe.each(TRANSPORTS)('client contract on %s', (_name, open) => {
  let db: TestDatabase;
  let app: RunningApp;
  const clients: ContractClient[] = [];
  const connect = async (credentials?: Parameters<Open>[1]) => {
    const client = await open(app.url, credentials);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    db = createSqliteDatabase();
    // The room cap takes 63 commands in a row; the message rate limit has its own tests.
    app = await startTestApp({ ...db.env, WS_RATE_LIMIT_PER_SEC: '1000' });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('subscribes and unsubscribes, acknowledging the rooms it is in', async () => {
    const client = await connect();
    expect(await client.command('subscribe', { room: 'session:s-1' })).toEqual({
      status: 'success',
      room: 'session:s-1',
      rooms: ['global', 'session:s-1'],
    });
    expect(await client.command('unsubscribe', { room: 'global' })).toEqual({
      status: 'success',
      room: 'global',
      rooms: ['session:s-1'],
    });
  });

  it('refuses a bad body listing every bad field, with an error event too', async () => {
    const client = await connect();
    const ack = await client.command('subscribe', { room: 7, extra: true });
    expect(ack).toMatchObject({ status: 'error', code: 'bad_request' });
    expect([...new Set(ack.errors?.map((e) => e.field))].sort()).toEqual(['extra', 'room']);
    expect(await client.event('error')).toMatchObject({ data: { code: 'bad_request' } });
    expect(await client.command('subscribe', { room: 'lobby' })).toMatchObject({
      status: 'error',
      code: 'bad_request',
    });
  });

  it('caps the rooms of one client at 63, global included', async () => {
    const client = await connect();
    for (let i = 0; i < 62; i++)
      expect((await client.command('subscribe', { room: `session:s-${i}` })).status).toBe(
        'success',
      );
    expect(await client.command('subscribe', { room: 'session:one-too-many' })).toMatchObject({
      status: 'error',
      code: 'bad_request',
    });
    // A room it is in already is no new room.
    expect((await client.command('subscribe', { room: 'session:s-0' })).status).toBe('success');
  });

  it('subscribes to skill metrics (one subscription at a time) and confirms it', async () => {
    const client = await connect();
    expect(await client.command('subscribe_metrics', { skill: 'Bash' })).toEqual({
      status: 'success',
      skill: 'Bash',
    });
    expect((await client.event('subscription_confirmed')).data).toEqual({ skill: 'Bash' });
    const ack = await client.command('subscribe_metrics', { skill: null });
    expect(ack).toEqual({ status: 'success', skill: null });
    expect(await client.command('subscribe', { room: 'session:x' })).toMatchObject({
      rooms: ['global', 'metrics', 'session:x'],
    });
    expect(await client.command('unsubscribe_metrics')).toEqual({ status: 'success' });
    expect(await client.command('subscribe_metrics', { skill: 'no spaces' })).toMatchObject({
      status: 'error',
      code: 'bad_request',
    });
  });

  it('answers ping with pong and a usage request with usage_update', async () => {
    const client = await connect();
    const pong = await client.command('ping');
    expect(pong).toMatchObject({ status: 'success', server_time: expect.any(Number) });
    expect((await client.event('pong')).data).toEqual({ server_time: pong.server_time });
    const usage = await client.command('request_usage_update', { session_id: 's-9' });
    expect(usage).toMatchObject({ status: 'success', source: 'default' });
    expect(await client.event('usage_update')).toMatchObject({
      session_id: 's-9',
      data: { source: 'default' },
    });
    expect(await client.command('request_usage_update', { session_id: 'a b' })).toMatchObject({
      status: 'error',
      code: 'bad_request',
    });
  });

  it('refuses a last_event_id that is not a non-negative integer, before connecting', async () => {
    await expect(connect({ lastEventId: 'yesterday' })).rejects.toThrow(/bad_request|HTTP 400/);
    await expect(connect({ lastEventId: -1 })).rejects.toThrow(/bad_request|HTTP 400/);
    const fine = await connect({ lastEventId: 0 });
    expect((await fine.command('ping')).status).toBe('success');
  });
});

describe.each(TRANSPORTS)('room authorization on %s', (_name, open) => {
  const secret = 'contract-test-secret-that-is-long-enough';
  let db: TestDatabase;
  let app: RunningApp;

  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp({ ...db.env, AUTH_JWT_SECRET: secret });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it("joins its own user room and the projects its token lists, nobody else's", async () => {
    const token = await signJwt({ sub: 'ada', projects: ['shop'] }, secret);
    const client = await open(app.url, { token });
    try {
      expect((await client.command('subscribe', { room: 'user:ada' })).status).toBe('success');
      expect((await client.command('subscribe', { room: 'project:shop' })).status).toBe('success');
      expect(await client.command('subscribe', { room: 'user:bob' })).toMatchObject({
        status: 'error',
        code: 'forbidden',
      });
      expect(await client.command('subscribe', { room: 'project:bank' })).toMatchObject({
        status: 'error',
        code: 'forbidden',
      });
    } finally {
      client.close();
    }
  });
});
