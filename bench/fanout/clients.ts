/**
 * Socket.IO clients for bench/fanout, in their own process: connects N sockets, then records the
 * end-to-end latency of every `event` delivery (sent_at in the event payload → receipt).
 */
import { SignJWT } from 'jose';
import { io, type Socket } from 'socket.io-client';

/** With BENCH_JWT_SECRET each socket presents its own token (an hour's `exp`), as users would. */
const secret = process.env.BENCH_JWT_SECRET;
const tokenFor = (i: number) =>
  secret
    ? new SignJWT({ sub: `bench-${i}` })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
        .sign(new TextEncoder().encode(secret))
    : Promise.resolve(undefined);

interface Command {
  cmd: 'connect' | 'start' | 'peek' | 'stop' | 'close';
  url?: string;
  n?: number;
}

const now = () => performance.timeOrigin + performance.now();
const BUCKET_MS = 0.1;
const histogram = new Float64Array(200_000); // 0–20 s in 0.1 ms buckets
let deliveries = 0;
let firstAt = 0;
let lastAt = 0;
let recording = false;
const sockets: Socket[] = [];

function record(sentAt: number): void {
  if (!recording) return;
  const at = now();
  const latency = at - sentAt;
  histogram[Math.min(histogram.length - 1, Math.max(0, Math.round(latency / BUCKET_MS)))] += 1;
  deliveries += 1;
  if (!firstAt) firstAt = at;
  lastAt = at;
}

function percentile(q: number): number {
  const target = q * deliveries;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i];
    if (seen >= target) return i * BUCKET_MS;
  }
  return Number.NaN;
}

async function connectAll(url: string, n: number): Promise<{ connected: number; failed: number }> {
  let connected = 0;
  let failed = 0;
  const one = async () => {
    const token = await tokenFor(sockets.length);
    return new Promise<void>((resolve) => {
      const socket = io(url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        auth: token ? { token } : {},
      });
      sockets.push(socket);
      socket.on('event', (message: { data: { payload: { sent_at?: number } } }) => {
        const sentAt = message.data.payload.sent_at;
        if (typeof sentAt === 'number') record(sentAt);
      });
      socket.once('initial', () => {
        connected += 1;
        resolve();
      });
      socket.once('connect_error', () => {
        failed += 1;
        resolve();
      });
    });
  };
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, one));
  }
  return { connected, failed };
}

process.on('message', (message: Command) => {
  void (async () => {
    switch (message.cmd) {
      case 'connect':
        process.send?.({ cmd: 'connected', ...(await connectAll(message.url!, message.n!)) });
        break;
      case 'start':
        histogram.fill(0);
        deliveries = 0;
        firstAt = 0;
        lastAt = 0;
        recording = true;
        process.send?.({ cmd: 'started' });
        break;
      case 'peek':
        process.send?.({ cmd: 'peeked', deliveries });
        break;
      case 'stop':
        recording = false;
        process.send?.({
          cmd: 'stopped',
          deliveries,
          firstAt,
          lastAt,
          p50: percentile(0.5),
          p99: percentile(0.99),
          max: percentile(1),
        });
        break;
      case 'close':
        for (const socket of sockets) socket.close();
        process.exit(0);
    }
  })();
});
