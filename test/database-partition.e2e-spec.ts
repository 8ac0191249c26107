import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { postgresBehindProxy, type ProxiedPostgres } from './support/databases';
import { describeWithService } from './support/services';
import type { TcpProxy } from './support/tcp-proxy';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

/** Long enough that a hang is a failure, never a slow pass. */
const ANSWER_WITHIN_MS = 30_000;

describeWithService('TEST_DATABASE_URL', 'a silent PostgreSQL partition', (serverUrl) => {
  let postgres: ProxiedPostgres;
  let proxy: TcpProxy;
  let running: RunningApp;
  let seq = 0;

  const post = () =>
    fetch(`${running.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        source_app: 'partition',
        session_id: 's1',
        hook_event_type: 'Notification',
        payload: { n: ++seq },
      }),
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    });
  const metric = async (name: string) => {
    const text = await (await fetch(`${running.url}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  };

  beforeAll(async () => {
    postgres = await postgresBehindProxy(serverUrl);
    proxy = postgres.proxy;
    running = await startTestApp({ DATABASE_URL: postgres.url, DB_QUERY_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await running?.close();
    await postgres?.drop();
  });

  it('answers writes 503 + Retry-After during it, logs it once, and accepts again after the heal with nothing acknowledged lost', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn');
    const error = vi.spyOn(Logger.prototype, 'error');
    const acknowledged: number[] = [];
    const accept = async () => {
      const res = await post();
      if (res.status === 201) acknowledged.push(((await res.json()) as { id: number }).id);
      return res;
    };
    for (let i = 0; i < 5; i++) expect((await accept()).status).toBe(201);

    proxy.partition();
    // Bytes vanish: the pooled connection's next query never gets an answer. Each write is
    // answered within the deadline instead of waiting for good.
    const during = await Promise.all([accept(), accept(), accept()]);
    for (const res of during) {
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { type: string }).type).toBe(
        'urn:usage-gateway:problem:database-unavailable',
      );
    }
    // Known to be away: refused at once, without queueing behind the dead connection.
    expect((await accept()).status).toBe(503);
    expect((await fetch(`${running.url}/health/ready`)).status).toBe(503);
    expect(await metric('database_available')).toBe(0);
    expect(await metric('database_refused_requests_total')).toBeGreaterThanOrEqual(4);

    proxy.heal();
    // The write path recovers by itself: no restart, no request to wake it.
    await waitFor(async () => (await accept()).status === 201, 20_000, 'writes accepted again');
    await waitFor(
      async () => (await fetch(`${running.url}/health/ready`)).status === 200,
      20_000,
      'ready again',
    );
    expect(await metric('database_available')).toBe(1);
    for (let i = 0; i < 5; i++) expect((await accept()).status).toBe(201);

    // Every acknowledged event is stored, once.
    const listed = (await (
      await fetch(`${running.url}/api/events?source_app=partition&limit=1000`)
    ).json()) as { events: Array<{ id: number }> };
    expect(listed.events.map((e) => e.id)).toEqual(acknowledged);

    // One line when it went away, none per refused request (no stack traces).
    const outageLines = warn.mock.calls.filter((c) =>
      String(c[0]).startsWith('database unavailable'),
    );
    expect(outageLines).toHaveLength(1);
    expect(
      error.mock.calls.filter((c) => String(c[1] ?? c[0]).includes('unexpected error')),
    ).toHaveLength(0);
  });
});
