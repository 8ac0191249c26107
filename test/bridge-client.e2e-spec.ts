import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BridgeRequestError, BridgeUnavailableError } from '../src/bridge/bridge-call.error';
import { BridgeClient } from '../src/bridge/bridge-client';
import type { BridgeStatusDto } from '../src/bridge/dto/bridge-status.dto';
import { createSqliteDatabase } from './support/databases';
import { startTestApp } from './support/test-app';
import { FakeBridge } from './support/fake-bridge';
import { freePort } from './support/wait';

async function gatewayFor(url: string, env: Record<string, string> = {}) {
  const db = createSqliteDatabase();
  const running = await startTestApp({
    ...db.env,
    BRIDGE_MODE: 'external',
    USAGE_BRIDGE_URL: url,
    USAGE_BRIDGE_TIMEOUT: '300',
    USAGE_BRIDGE_RETRIES: '2',
    ...env,
  });
  return {
    running,
    client: running.app.get(BridgeClient),
    close: async () => {
      await running.close();
      await db.drop();
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('bridge client against a bridge that answers in 30 s', () => {
  let fake: FakeBridge;
  let gateway: Awaited<ReturnType<typeof gatewayFor>>;
  beforeAll(async () => {
    fake = await new FakeBridge().start('--delay', '30');
    gateway = await gatewayFor(fake.url);
  });
  afterAll(async () => {
    await gateway?.close();
    fake?.stop();
  });

  it('gives up within the overall deadline, then the open breaker spares the bridge entirely', async () => {
    const { client } = gateway;
    expect(client.deadline).toBe(300 * 3 + 1000 * 2);

    const started = Date.now();
    const first = await rejection(client.get('/usage/slow'));
    const elapsed = Date.now() - started;
    expect(first).toBeInstanceOf(BridgeUnavailableError);
    expect((first as BridgeUnavailableError).reason).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(900); // three attempts of 300 ms, each waited out
    expect(await fake.count()).toBe(3);

    // Two more timed-out attempts make five consecutive failures: the breaker opens.
    await rejection(client.get('/usage/slow', { n: 2 }));
    expect(client.upstreamStatus()[0].circuit).toBe('open');
    const before = await fake.count();
    expect(before).toBe(5);

    // (What an open breaker costs a caller is measured by bench/bridge-client.)
    const errors = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => rejection(client.get('/usage/slow', { i }))),
    );
    expect(
      errors.every((e) => e instanceof BridgeUnavailableError && e.reason === 'circuit_open'),
    ).toBe(true);
    expect(await fake.count()).toBe(before);

    const status = (await (
      await fetch(`${gateway.running.url}/api/usage/bridge/status`)
    ).json()) as BridgeStatusDto;
    expect(status.circuit.state).toBe('open');
    expect(status.circuit.openedAt).not.toBeNull();
    const metrics = await (await fetch(`${gateway.running.url}/metrics`)).text();
    expect(metrics).toMatch(/bridge_circuit_state\{upstream="primary"\} 1/);
    // 1,000 refused calls, plus the second call whose third attempt met the freshly opened breaker.
    expect(metrics).toMatch(
      /bridge_requests_total\{route="\/usage\/slow",outcome="circuit_open"\} 1001/,
    );
  }, 20_000);
});

describe('bridge client against a healthy bridge', () => {
  let fake: FakeBridge;
  let gateway: Awaited<ReturnType<typeof gatewayFor>>;
  beforeAll(async () => {
    fake = await new FakeBridge().start('--ok-delay', '0.2');
    gateway = await gatewayFor(fake.url);
  });
  afterAll(async () => {
    await gateway?.close();
    fake?.stop();
  });

  it('coalesces 100 concurrent identical GETs into one upstream request', async () => {
    const before = await fake.count();
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        gateway.client.get<{ query: string }>('/usage/ok', { b: 2, a: 1 }),
      ),
    );
    expect(await fake.count()).toBe(before + 1);
    expect(new Set(results.map((r) => r.data.query))).toEqual(new Set(['/usage/ok?a=1&b=2']));
    // Different parameters are different requests.
    await Promise.all([
      gateway.client.get('/usage/ok', { a: 1 }),
      gateway.client.get('/usage/ok', { a: 2 }),
    ]);
    expect(await fake.count()).toBe(before + 3);
  });

  it('retries a 5xx (GET only) but never a 4xx, whose field errors are passed on', async () => {
    let before = await fake.count();
    const failed = await rejection(gateway.client.get('/usage/fail'));
    expect((failed as BridgeUnavailableError).reason).toBe('upstream_error');
    expect(await fake.count()).toBe(before + 3);

    before = await fake.count();
    await rejection(gateway.client.post('/usage/fail', {}));
    expect(await fake.count()).toBe(before + 1);

    before = await fake.count();
    const bad = await rejection(gateway.client.get('/usage/bad'));
    expect(bad).toBeInstanceOf(BridgeRequestError);
    expect((bad as BridgeRequestError).toProblem()).toMatchObject({
      status: 400,
      errors: [{ field: 'plan', message: 'must be one of pro' }],
      from_bridge: true,
    });
    expect(await fake.count()).toBe(before + 1);
    expect(gateway.client.upstreamStatus()[0].circuit).toBe('closed');
  });

  it('reports an external bridge in the status route and in /health', async () => {
    const status = (await (
      await fetch(`${gateway.running.url}/api/usage/bridge/status`)
    ).json()) as BridgeStatusDto;
    expect(status).toMatchObject({
      enabled: true,
      mode: 'external',
      url: fake.url,
      timeout: 300,
      retries: 2,
      healthy: true,
      process: { state: 'external', pid: null },
      circuit: { state: 'closed' },
    });
    const health = (await (await fetch(`${gateway.running.url}/health`)).json()) as {
      details: { bridge: Record<string, unknown> };
    };
    expect(health.details.bridge).toMatchObject({
      status: 'up',
      reachable: true,
      mode: 'external',
    });
  });
});

describe('fallback upstream', () => {
  let fake: FakeBridge;
  let gateway: Awaited<ReturnType<typeof gatewayFor>> | undefined;
  beforeAll(async () => {
    fake = await new FakeBridge().start();
  });
  afterEach(async () => gateway?.close());
  afterAll(() => fake?.stop());

  it('serves from USAGE_BRIDGE_FALLBACK_URL while the primary breaker is open', async () => {
    const deadPort = await freePort();
    gateway = await gatewayFor(`http://127.0.0.1:${deadPort}`, {
      USAGE_BRIDGE_FALLBACK_URL: fake.url,
      USAGE_BRIDGE_RETRIES: '0',
    });
    for (let i = 0; i < 5; i++) {
      const error = await rejection(gateway.client.get('/usage/ok', { i }));
      expect((error as BridgeUnavailableError).reason).toBe('network');
    }
    const answer = await gateway.client.get<{ ok: boolean }>('/usage/ok');
    expect(answer).toMatchObject({ upstream: 'fallback', data: { ok: true } });
    expect(gateway.client.upstreamStatus().map((u) => [u.name, u.circuit])).toEqual([
      ['primary', 'open'],
      ['fallback', 'closed'],
    ]);
  });

  it('with BRIDGE_MODE=off never calls anything and says so', async () => {
    gateway = await gatewayFor(fake.url, { BRIDGE_MODE: 'off' });
    const before = await fake.count();
    const error = await rejection(gateway.client.get('/usage/ok'));
    expect((error as BridgeUnavailableError).reason).toBe('disabled');
    expect(await fake.count()).toBe(before);
  });
});
