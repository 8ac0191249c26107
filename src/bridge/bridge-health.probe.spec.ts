import { fake } from '../../test/support/fake';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BridgeHealthProbe, HealthWaitError } from './bridge-health.probe';
import { type BridgeTransport, TransportError } from './bridge-transport';

/** The probe over a scripted transport; time is vitest's fake clock. */
function probeWith(request: ReturnType<typeof vi.fn>) {
  return new BridgeHealthProbe(
    fake<BridgeTransport>({ request: request as BridgeTransport['request'] }),
  );
}
const refused = () => Promise.reject(new TransportError('refused', 'ECONNREFUSED'));

describe('BridgeHealthProbe.waitUntilHealthy', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  const wait = { intervalMs: 500, maxAttempts: 20, timeoutMs: 10_000, stillRunning: () => true };

  it('probes with pauses of 500 ms × 1.2 each time until the bridge answers 200', async () => {
    const request = vi
      .fn()
      .mockImplementationOnce(refused)
      .mockImplementationOnce(refused)
      .mockResolvedValue({ status: 200, data: {} });
    const done = probeWith(request).waitUntilHealthy('http://127.0.0.1:9', wait);
    await vi.advanceTimersByTimeAsync(499);
    expect(request).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(request).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(600); // 500 × 1.2
    await expect(done).resolves.toBeUndefined();
    expect(request).toHaveBeenCalledTimes(3);
  });

  it('gives up at the overall timeout with the last reason', async () => {
    const request = vi.fn().mockResolvedValue({ status: 503, data: {} });
    const done = probeWith(request).waitUntilHealthy('http://127.0.0.1:9', {
      ...wait,
      timeoutMs: 3000,
    });
    const outcome = expect(done).rejects.toMatchObject({ lastReason: 'HTTP 503', exited: false });
    await vi.advanceTimersByTimeAsync(3000);
    await outcome;
  });

  it('stops at once when the process has exited', async () => {
    let running = true;
    const request = vi.fn().mockImplementation(() => {
      running = false;
      return refused();
    });
    const done = probeWith(request).waitUntilHealthy('http://127.0.0.1:9', {
      ...wait,
      stillRunning: () => running,
    });
    const outcome = expect(done).rejects.toBeInstanceOf(HealthWaitError);
    await vi.advanceTimersByTimeAsync(500);
    await outcome;
    await expect(done).rejects.toMatchObject({ exited: true });
    expect(request).toHaveBeenCalledTimes(1);
  });
});
