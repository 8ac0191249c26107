import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClusterLock } from '../src/cluster/cluster-lock';
import { loadConfig } from '../src/config/load-config';
import { RedisConnection } from '../src/redis/redis-connection';
import { describeWithService } from './support/services';
import { TcpProxy } from './support/tcp-proxy';
import { waitFor } from './support/wait';

describeWithService('TEST_REDIS_URL', 'cluster lock', (redisUrl) => {
  const name = `test-${Math.random().toString(36).slice(2)}`;
  let proxy: TcpProxy;
  let one: ClusterLock;
  let two: ClusterLock;
  const connections: RedisConnection[] = [];
  /** A lock on a connection of its own, as each gateway instance has. */
  const lockAt = (url: string) => {
    const connection = new RedisConnection(loadConfig({ REDIS_URL: url }));
    connections.push(connection);
    return new ClusterLock(connection);
  };

  beforeAll(async () => {
    const target = new URL(redisUrl);
    proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    await proxy.start();
    one = lockAt(`redis://127.0.0.1:${proxy.port}`);
    two = lockAt(`redis://127.0.0.1:${proxy.port}`);
  });
  afterAll(async () => {
    for (const connection of connections) connection.onModuleDestroy();
    await proxy?.stop();
  });

  it('lets one instance at a time run a job, and one per period when kept', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    let started: () => void = () => undefined;
    const running = new Promise<void>((r) => (started = r));
    const slow = one.runExclusive(
      `${name}-a`,
      10_000,
      () =>
        new Promise<void>((r) => {
          release = () => (runs++, r());
          started();
        }),
    );
    // Waits for the job to hold the lock (a fixed sleep was too short on a loaded machine).
    await running;
    expect(await two.runExclusive(`${name}-a`, 10_000, async () => void runs++)).toBe(false);
    release();
    expect(await slow).toBe(true);
    expect(await two.runExclusive(`${name}-a`, 10_000, async () => void runs++)).toBe(true);
    expect(runs).toBe(2);

    expect(
      await one.runExclusive(`${name}-b`, 300, async () => undefined, { release: false }),
    ).toBe(true);
    expect(
      await two.runExclusive(`${name}-b`, 300, async () => undefined, { release: false }),
    ).toBe(false);
    // Kept for its 300 ms, then free: the next one to ask gets it.
    await waitFor(
      () => two.runExclusive(`${name}-b`, 300, async () => undefined, { release: false }),
      5000,
      'the kept lock to expire',
    );
  });

  it('holds the lock for the whole run of a job that outlasts its time to live', async () => {
    let finish: () => void = () => undefined;
    let started: () => void = () => undefined;
    const running = new Promise<void>((r) => (started = r));
    const long = one.runExclusive(
      `${name}-long`,
      300,
      () =>
        new Promise<void>((r) => {
          finish = r;
          started();
        }),
    );
    await running;
    // Well past the 300 ms it was taken for: still held (extended while the job runs).
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 250));
      expect(await two.runExclusive(`${name}-long`, 300, async () => undefined)).toBe(false);
    }
    finish();
    expect(await long).toBe(true);
    expect(await two.runExclusive(`${name}-long`, 300, async () => undefined)).toBe(true);
  });

  it('runs the job anyway when Redis is unreachable (the guarded jobs are idempotent)', async () => {
    await proxy.stop();
    const lonely = lockAt(`redis://127.0.0.1:${proxy.port}`);
    expect(await lonely.runExclusive(`${name}-c`, 1000, async () => undefined)).toBe(true);
  });
});
