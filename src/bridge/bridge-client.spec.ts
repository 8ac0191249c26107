import type { EventEmitter2 } from '@nestjs/event-emitter';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config/load-config';
import { BridgeUnavailableError } from './bridge-call.error';
import { BridgeClient } from './bridge-client';
import { BridgeMetrics } from './bridge-metrics';
import { BridgeStatusPublisher } from './bridge-status.publisher';
import type { BridgeSupervisor } from './bridge-supervisor';
import { type BridgeTransport, TransportError } from './bridge-transport';

/** The client with its HTTP edge replaced: breaker timing driven by fake timers, no sockets. */
function clientWith(request: ReturnType<typeof vi.fn>) {
  const config = loadConfig({ BRIDGE_MODE: 'external', USAGE_BRIDGE_RETRIES: '0' });
  const transport = { request } as unknown as BridgeTransport;
  const supervisor = {
    supervises: false,
    baseUrl: undefined,
    getStatus: () => ({ state: 'external', pid: null }),
  };
  const emit = vi.fn();
  const client = new BridgeClient(
    config,
    transport,
    supervisor as unknown as BridgeSupervisor,
    new BridgeStatusPublisher({ emit } as unknown as EventEmitter2),
    new BridgeMetrics(new Registry()),
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
    expect(emit.mock.calls.map(([, e]) => e.circuit)).toEqual(['open', 'half-open', 'closed']);
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
});
