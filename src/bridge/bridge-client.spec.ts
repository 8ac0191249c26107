import { fake } from '../../test/support/fake';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DomainEvents } from '../common/domain-events';
import type { BridgeStatusEvent } from './bridge-status.event';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config/load-config';
import { BridgeUnavailableError } from './bridge-call.error';
import { BridgeClient } from './bridge-client';
import { BridgeHealthProbe } from './bridge-health.probe';
import { BridgeMetrics } from './bridge-metrics';
import { BRIDGE_STATUS_EVENT } from './bridge-status.event';
import { BridgeStatusPublisher } from './bridge-status.publisher';
import type { BridgeSupervisor, SupervisorStatus } from './bridge-supervisor';
import type { SupervisorState } from './bridge-status.event';
import { type BridgeTransport, TransportError } from './bridge-transport';

/** A scripted transport (its request is generic in the answer's type: a cast at that member). */
const transportOf = (request: ReturnType<typeof vi.fn>) =>
  fake<BridgeTransport>({ request: request as BridgeTransport['request'] });

/** What a supervisor reports, at its state and pid. */
function statusOf(state: SupervisorState, pid: number | null): SupervisorStatus {
  return {
    state,
    pid,
    port: null,
    isReady: state === 'ready',
    isRestarting: false,
    restartAttempts: 0,
    lastError: null,
    uptime: null,
    lastHealthCheck: null,
  };
}

/** The client with its HTTP edge replaced: breaker timing driven by fake timers, no sockets. */
function clientWith(request: ReturnType<typeof vi.fn>) {
  const config = loadConfig({ BRIDGE_MODE: 'external', USAGE_BRIDGE_RETRIES: '0' });
  const transport = transportOf(request);
  const supervisor = {
    supervises: false,
    baseUrl: undefined,
    getStatus: () => statusOf('external', null),
  };
  const events = new DomainEvents(new EventEmitter2());
  const emit = vi.spyOn(events, 'emit');
  const client = new BridgeClient(
    config,
    transport,
    fake<BridgeSupervisor>(supervisor),
    new BridgeStatusPublisher(events, () => Date.now()),
    new BridgeMetrics(new Registry()),
    new BridgeHealthProbe(transport),
    () => Date.now(),
  );
  return { client, emit };
}

describe('BridgeClient circuit breaker', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('opens after 5 consecutive failures, half-opens after 10 s with one probe, closes on success', async () => {
    const request = vi
      .fn()
      .mockRejectedValue(new TransportError('connect ECONNREFUSED', 'ECONNREFUSED'));
    const { client, emit } = clientWith(request);
    for (let i = 0; i < 5; i++) {
      await expect(client.get('/usage/stats', { i })).rejects.toMatchObject({ reason: 'network' });
    }
    expect(client.upstreamStatus()[0].circuit).toBe('open');
    await expect(client.get('/usage/stats')).rejects.toMatchObject({ reason: 'circuit_open' });
    expect(request).toHaveBeenCalledTimes(5);

    vi.advanceTimersByTime(9_999);
    await expect(client.get('/usage/stats')).rejects.toBeInstanceOf(BridgeUnavailableError);
    expect(request).toHaveBeenCalledTimes(5);

    vi.advanceTimersByTime(2);
    request.mockResolvedValue({ status: 200, data: { ok: true } });
    await expect(client.get('/usage/stats')).resolves.toEqual({
      data: { ok: true },
      upstream: 'primary',
    });
    expect(request).toHaveBeenCalledTimes(6);
    expect(client.upstreamStatus()[0].circuit).toBe('closed');
    expect(emit.mock.calls.map(([, e]) => (e as BridgeStatusEvent).circuit)).toEqual([
      'open',
      'half-open',
      'closed',
    ]);
  });

  it("counts 4xx answers as the caller's fault, not the bridge's", async () => {
    const request = vi
      .fn()
      .mockResolvedValue({ status: 400, data: { error: 'bad plan', errors: [] } });
    const { client } = clientWith(request);
    for (let i = 0; i < 10; i++)
      await expect(client.get('/usage/stats', { i })).rejects.toThrow('bad plan');
    expect(client.upstreamStatus()[0].circuit).toBe('closed');
  });

  /** A supervised bridge whose status events reach the client, as Nest's emitter delivers them. */
  function supervisedClient(request: ReturnType<typeof vi.fn>) {
    const config = loadConfig({ BRIDGE_PORT: '0', USAGE_BRIDGE_RETRIES: '0' });
    const process = statusOf('ready', 100);
    const supervisor = {
      supervises: true,
      baseUrl: 'http://127.0.0.1:9',
      getStatus: () => process,
    };
    const emitter = new EventEmitter2();
    const status = new BridgeStatusPublisher(new DomainEvents(emitter), () => Date.now());
    const client = new BridgeClient(
      config,
      transportOf(request),
      fake<BridgeSupervisor>(supervisor),
      status,
      new BridgeMetrics(new Registry()),
      new BridgeHealthProbe(transportOf(request)),
      () => Date.now(),
    );
    emitter.on(BRIDGE_STATUS_EVENT, (event: BridgeStatusEvent) => client.onBridgeStatus(event));
    status.update({ state: 'ready', healthy: true });
    return { client, process, status };
  }

  it('stays open on the hung bridge: its own status events do not close it, a new process does', async () => {
    const request = vi.fn().mockRejectedValue(new TransportError('timed out', 'ETIMEDOUT'));
    const { client, process, status } = supervisedClient(request);
    for (let i = 0; i < 5; i++)
      await expect(client.get('/usage/stats', { i })).rejects.toMatchObject({ reason: 'timeout' });
    expect(client.upstreamStatus()[0].circuit).toBe('open');
    status.update({ healthy: false, reason: 'ETIMEDOUT' });
    expect(client.upstreamStatus()[0].circuit).toBe('open');

    Object.assign(process, { state: 'restarting', pid: null });
    status.update({ state: 'restarting' });
    Object.assign(process, { state: 'ready', pid: 101 });
    status.update({ state: 'ready' });
    expect(client.upstreamStatus()[0].circuit).toBe('closed');
  });

  it('tests an open breaker by itself once it may half-open, with no caller about', async () => {
    const request = vi.fn().mockRejectedValue(new TransportError('timed out', 'ETIMEDOUT'));
    const { client } = supervisedClient(request);
    client.onModuleInit();
    try {
      for (let i = 0; i < 5; i++) await client.get('/usage/stats', { i }).catch(() => undefined);
      expect(client.upstreamStatus()[0].circuit).toBe('open');
      request.mockResolvedValue({ status: 200, data: { status: 'ok' } });
      await vi.advanceTimersByTimeAsync(9_000);
      expect(client.upstreamStatus()[0].circuit).toBe('open');
      await vi.advanceTimersByTimeAsync(2_000);
      expect(client.upstreamStatus()[0].circuit).toBe('closed');
      expect(request).toHaveBeenCalledWith(
        expect.objectContaining({ method: 'GET', url: 'http://127.0.0.1:9/health' }),
      );
    } finally {
      client.onModuleDestroy();
    }
  });
});
