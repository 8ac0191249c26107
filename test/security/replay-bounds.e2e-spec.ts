import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBuilt } from '../support/built';
import { type GatewayProcess, spawnGateway } from '../support/gateway-process';
import { metricValue } from '../support/metrics';
import { waitFor } from '../support/wait';
import Database from 'better-sqlite3';

const EVENTS = 100_000;
/** Each stored event carries this much text: the table holds ~200 MB of payloads. */
const PAYLOAD_BYTES = 2000;
/** How much the gateway may grow while a client that reads nothing replays the whole table. */
const RSS_GROWTH_LIMIT_MB = 64;

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** A WebSocket whose reading we can stop (TCP back-pressure reaches the gateway). */
function pause(ws: WebSocket): void {
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
}
function resume(ws: WebSocket): void {
  (ws as unknown as { _socket: { resume(): void } })._socket.resume();
}

async function start(dbPath: string): Promise<GatewayProcess> {
  const gateway = spawnGateway(
    { PORT: '0', DB_SQLITE_PATH: dbPath, LOG_LEVEL: 'info', WS_MAX_BUFFER_BYTES: '1000000' },
    { built: true },
  );
  await gateway.listening;
  return gateway;
}

describeBuilt('replay from 0 against a 100,000-event table', () => {
  let dir: string;
  let dbPath: string;
  let gateway: GatewayProcess;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-replay-'));
    dbPath = join(dir, 'gateway.sqlite');
    // The schema comes from the gateway's migrations; the rows are written in bulk.
    const first = await start(dbPath);
    first.child.kill('SIGTERM');
    await first.exited;
    const db = new Database(dbPath);
    const insert = db.prepare(
      `INSERT INTO hook_events (source_app, session_id, hook_event_type, payload, timestamp, received_at, timestamp_source)
       VALUES ('bulk', 'r', 'Notification', ?, ?, ?, 'sender')`,
    );
    const text = 'x'.repeat(PAYLOAD_BYTES);
    // Recent, so EVENT_RETENTION_DAYS keeps them.
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < EVENTS; i++) {
        const payload = JSON.stringify({
          hook_event_name: 'Notification',
          session_id: 'r',
          message: text,
          n: i,
        });
        insert.run(payload, now - EVENTS + i, now - EVENTS + i);
      }
    })();
    db.close();
    gateway = await start(dbPath);
    url = await gateway.listening;
  }, 120_000);

  afterAll(async () => {
    gateway?.child.kill('SIGKILL');
    await gateway?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds a Socket.IO client that reads nothing to a bounded buffer, then delivers every event in order', async () => {
    const pid = gateway.child.pid!;
    const before = rssMb(pid);
    const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    let opened = false;
    let connectedAt = false;
    const ids: number[] = [];
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('0{')) {
        opened = true;
        ws.send('40{"last_event_id":0}');
        // From here on nothing is read: the kernel buffers fill, then the gateway must wait.
        pause(ws);
        return;
      }
      if (text.startsWith('40')) connectedAt = true;
      if (text === '2') ws.send('3');
      if (text.startsWith('42["event"')) {
        const message = JSON.parse(text.slice(2)) as [string, { event_id: number }];
        ids.push(message[1].event_id);
      }
    });
    await waitFor(() => opened, 5000, 'engine.io open');
    // The replay has met the full buffers and waits for the reader (the marker: code that loaded
    // the whole table into memory instead never waits); memory is measured then.
    await waitFor(
      async () =>
        (await metricValue(url, 'realtime_replay_waits_total{transport="socket.io"}')) > 0 ||
        undefined,
      60_000,
      'the Socket.IO replay waiting for the reader',
    );
    const during = rssMb(pid);
    expect(during - before).toBeLessThan(RSS_GROWTH_LIMIT_MB);

    resume(ws);
    await waitFor(() => ids.length >= EVENTS || undefined, 120_000, 'every event replayed');
    expect(connectedAt).toBe(true);
    expect(ids).toHaveLength(EVENTS);
    for (let i = 1; i < ids.length; i++)
      if (ids[i] !== ids[i - 1] + 1) throw new Error(`gap at ${i}`);
    ws.close();
  }, 180_000);

  it('does the same on /stream: no disconnect for a slow reader, every event once, in order', async () => {
    const pid = gateway.child.pid!;
    const before = rssMb(pid);
    const ws = new WebSocket(`${url.replace('http', 'ws')}/stream?last_event_id=0`);
    const ids: number[] = [];
    let closed = false;
    ws.on('close', () => (closed = true));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; event_id?: number };
      if (frame.type === 'event') ids.push(frame.event_id!);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    pause(ws);
    await waitFor(
      async () =>
        (await metricValue(url, 'realtime_replay_waits_total{transport="stream"}')) > 0 ||
        undefined,
      60_000,
      'the /stream replay waiting for the reader',
    );
    expect(rssMb(pid) - before).toBeLessThan(RSS_GROWTH_LIMIT_MB);
    resume(ws);
    await waitFor(() => ids.length >= EVENTS || closed || undefined, 120_000, 'every event');
    expect(closed).toBe(false);
    expect(ids).toHaveLength(EVENTS);
    for (let i = 1; i < ids.length; i++)
      if (ids[i] !== ids[i - 1] + 1) throw new Error(`gap at ${i}`);
    ws.close();
  }, 180_000);
});
