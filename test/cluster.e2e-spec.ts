import { metricValue } from './support/metrics';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { describeWithService } from './support/services';
import { connected, connectSocket, type TestSocket } from './support/socket-client';
import { TcpProxy } from './support/tcp-proxy';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(url: string, n: number): Promise<number> {
  const res = await fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hook_event_name: 'Notification', session_id: 'cluster', n }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: number }).id;
}

/**
 * Instances A and B on one SQLite file and the Redis behind the proxy's `port` (a database index
 * of their own, so parallel suites never read each other's streams), a Socket.IO client on B.
 */
async function startPair(port: number, extra: Record<string, string> = {}) {
  const env = {
    REDIS_URL: `redis://127.0.0.1:${port}/${1 + Math.floor(Math.random() * 15)}`,
    ...extra,
  };
  const db = createSqliteDatabase();
  const a = await startTestApp({ ...db.env, ...env });
  const b = await startTestApp({ ...db.env, ...env, DB_MIGRATIONS_RUN: 'false' });
  const io = connectSocket(b.url);
  await connected(io);
  await io.next('initial');
  return { db, a, b, io };
}

describeWithService('TEST_REDIS_URL', 'two gateway instances over Redis', (redisUrl) => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let a: RunningApp;
  let b: RunningApp;
  let io: TestSocket;
  let stream: WebSocket;
  const streamEvents: number[] = [];
  let warm: number;

  beforeAll(async () => {
    const target = new URL(redisUrl);
    proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    await proxy.start();
    ({ db, a, b, io } = await startPair(proxy.port, { WS_METRICS_INTERVAL_MS: '250' }));
    stream = new WebSocket(`${b.url.replace('http', 'ws')}/stream`);
    stream.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; event_id?: number };
      if (frame.type === 'event') streamEvents.push(frame.event_id as number);
    });
    await new Promise((r) => stream.once('open', r));
    // The adapters subscribe: a first event from A reaches both of B's clients.
    warm = await post(a.url, 0.5);
    await waitFor(
      () => io.eventIds().includes(warm) && streamEvents.includes(warm),
      10_000,
      'a first event from A on B',
    );
  });
  afterAll(async () => {
    io?.close();
    stream?.terminate();
    await a?.close();
    await b?.close();
    await proxy?.stop();
    await db?.drop();
  });

  it('delivers an event posted to A to a Socket.IO and a /stream client on B, once', async () => {
    // (How fast across instances: bench/fanout.)
    const id = await post(a.url, 1);
    await io.next('event');
    await waitFor(() => streamEvents.includes(id), 5000, '/stream delivery');
    // A second event drains the first's delivery: a copy of it would have come before.
    const sentinel = await post(a.url, 1.5);
    await waitFor(() => io.eventIds().includes(sentinel), 5000, 'the sentinel on Socket.IO');
    await waitFor(() => streamEvents.includes(sentinel), 5000, 'the sentinel on /stream');
    expect(io.eventIds()).toEqual([warm, id, sentinel]);
    expect(streamEvents).toEqual([warm, id, sentinel]);
  });

  it('hears nothing from a deployment on another database of the same Redis server', async () => {
    // Pub/Sub channels are server-wide in Redis; a database index is a deployment of its own.
    const db = new URL(a.config.redis.url!).pathname.slice(1);
    const other = createSqliteDatabase();
    const lone = await startTestApp({
      ...other.env,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}/${(Number(db) % 15) + 1}`,
    });
    const client = connectSocket(lone.url);
    try {
      await connected(client);
      const before = streamEvents.length;
      const foreign = await post(lone.url, 100); // an id that A's database will also give out
      await waitFor(() => client.eventIds().includes(foreign), 5000, 'its own client');
      const sentinel = await post(a.url, 101);
      await waitFor(() => streamEvents.includes(sentinel), 5000, 'the sentinel on /stream');
      expect(streamEvents.slice(before)).toEqual([sentinel]);
    } finally {
      client.close();
      await lone.close();
      await other.drop();
    }
  });

  it('ticks metrics once per interval for a client on B (A does not tick for it)', async () => {
    const client = connectSocket(b.url);
    await connected(client);
    await client.emitAck('subscribe_metrics', { skill: null });
    await client.next('metrics_update', 10_000, 4);
    // One tick per 250 ms interval by the server's own clock. A ticking too would split each
    // interval in two (gaps of φ and 250 − φ, one of them at most 125 ms); a loaded machine only
    // shifts a tick by the few ms between its timer and its timestamp.
    const stamps = client.received
      .filter((r) => r.event === 'metrics_update')
      .map((t) => t.message.timestamp as number);
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...gaps)).toBeGreaterThan(200);
    client.close();
  });

  it("survives a Redis outage, catches B's clients up on what A stored meanwhile, and delivers across instances again", async () => {
    await proxy.stop();
    // Each instance keeps serving its own clients.
    const during = await post(b.url, 2);
    await waitFor(() => io.eventIds().includes(during), 2000, 'local delivery during the outage');
    const missed = [await post(a.url, 3), await post(a.url, 31), await post(a.url, 32)];
    expect((await fetch(`${a.url}/health/live`)).status).toBe(200);
    const health = (await (await fetch(`${b.url}/health`)).json()) as {
      details: { redis: { reachable?: boolean; status: string } };
    };
    expect(health.details.redis.reachable).toBe(false);

    await proxy.start();
    // Cross-instance delivery resumes by itself (reconnect with backoff).
    const seen = await waitFor(
      async () => {
        const id = await post(a.url, 4);
        await sleep(300);
        return io.eventIds().includes(id) ? id : undefined;
      },
      15_000,
      'cross-instance delivery after Redis returns',
    );
    const after = await post(a.url, 5);
    await waitFor(() => io.eventIds().includes(after), 2000, 'the next event');
    await waitFor(() => streamEvents.includes(after), 2000, 'the next event on /stream');
    expect(io.eventIds().filter((id) => id === after)).toHaveLength(1);
    expect(seen).toBeLessThan(after);
    // What A acknowledged while Redis was away reaches B's clients too (from the database), once.
    await waitFor(
      () => missed.every((id) => io.eventIds().includes(id) && streamEvents.includes(id)),
      15_000,
      'the events stored on A during the outage, on B',
    );
    // Every catch-up pass has run on B (three per outage): later ones could only add copies.
    await waitFor(
      async () => (await metricValue(b.url, 'realtime_catch_up_passes_total')) >= 3,
      20_000,
      "B's three catch-up passes",
    );
    // What only the catch-up could bring, and B's own event: exactly once.
    for (const id of [...missed, during]) {
      expect(io.eventIds().filter((x) => x === id)).toHaveLength(1);
      expect(streamEvents.filter((x) => x === id)).toHaveLength(1);
    }
    // Events posted while the adapters resume may come both ways (at least once, same id).
    for (const id of [seen, after]) {
      expect(io.eventIds().filter((x) => x === id).length).toBeGreaterThanOrEqual(1);
      expect(streamEvents.filter((x) => x === id).length).toBeGreaterThanOrEqual(1);
    }
  }, 45_000);
});

describeWithService('TEST_REDIS_URL', 'two instances started while Redis is away', (redisUrl) => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let a: RunningApp | undefined;
  let b: RunningApp | undefined;
  let io: TestSocket | undefined;

  afterAll(async () => {
    io?.close();
    await a?.close();
    await b?.close();
    await proxy?.stop();
    await db?.drop();
  });

  it('deliver across instances once Redis comes up', async () => {
    const target = new URL(redisUrl);
    proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    const port = await proxy.start();
    await proxy.stop(); // the port is known; nothing listens on it yet
    ({ db, a, b, io } = await startPair(port));
    // Both have tried Redis and met nothing (their health says so) before it comes up.
    for (const app of [a, b])
      await waitFor(
        async () => {
          const health = (await (await fetch(`${app.url}/health`)).json()) as {
            details: { redis?: { reachable?: boolean } };
          };
          return health.details.redis?.reachable === false;
        },
        10_000,
        'an instance finding Redis away',
      );

    await proxy.start(port);
    const seen = await waitFor(
      async () => {
        const id = await post(a!.url, 7);
        await sleep(300);
        return io!.eventIds().includes(id) ? id : undefined;
      },
      20_000,
      'an event from A on B after Redis came up',
    );
    expect(io.eventIds().filter((id) => id === seen)).toHaveLength(1);
  }, 40_000);
});
