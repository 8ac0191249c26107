import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { connected, connectSocket, type TestSocket } from './support/socket-client';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

const SECRET = 'github-webhook-secret-for-tests';

describe('domain events and the GitHub webhook', () => {
  let db: TestDatabase;
  let app: RunningApp;
  const sockets: TestSocket[] = [];
  const open = async (auth?: Record<string, unknown>) => {
    const s = connectSocket(app.url, { auth });
    sockets.push(s);
    await connected(s);
    await s.next('initial');
    return s;
  };
  const broadcast = (body: unknown) =>
    fetch(`${app.url}/api/broadcasts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  /**
   * Sends a sentinel to `global` and waits for it on each client: one socket delivers in order,
   * so anything sent to them before has arrived by then (a negative check needs no sleep).
   */
  const drained = async (...clients: TestSocket[]) => {
    const marker = randomUUID();
    const res = await broadcast({
      event_type: 'custom.sentinel',
      room: 'global',
      data: { marker },
    });
    expect(res.status).toBe(201);
    for (const client of clients)
      await waitFor(
        () =>
          client.received.some(
            (r) =>
              r.event === 'custom.sentinel' &&
              (r.message.data as { marker?: string })?.marker === marker,
          ) || undefined,
        10_000,
        'the sentinel',
      );
  };
  const github = (kind: string, payload: unknown, secret = SECRET) => {
    const body = JSON.stringify(payload);
    return fetch(`${app.url}/api/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': kind,
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
      body,
    });
  };

  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp({ ...db.env, GITHUB_WEBHOOK_SECRET: SECRET });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('validates, stores and broadcasts a domain event to its room only', async () => {
    const inRoom = await open();
    const elsewhere = await open();
    await inRoom.emitAck('subscribe', { room: 'project:acme/shop' });
    const res = await broadcast({
      event_type: 'workflow.progress',
      room: 'project:acme/shop',
      data: { workflow_id: 'deploy-42', progress: 60, status: 'running', step: 'tests' },
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: number };
    const got = await inRoom.next('workflow.progress');
    expect(got.message).toMatchObject({
      type: 'workflow.progress',
      event_id: id,
      data: { workflow_id: 'deploy-42', progress: 60, status: 'running', step: 'tests' },
    });
    await drained(elsewhere);
    expect(elsewhere.received.some((r) => r.event === 'workflow.progress')).toBe(false);
    // Domain events are not hook events: the history API does not list them.
    const history = (await (await fetch(`${app.url}/api/events`)).json()) as { count: number };
    expect(history.count).toBe(0);
    expect(
      (await broadcast({ event_type: 'custom.deploy', room: 'global', data: { any: ['thing'] } }))
        .status,
    ).toBe(201);
  });

  it('lists every bad field in one 400 and broadcasts nothing', async () => {
    const listener = await open();
    const first = (await (
      await broadcast({ event_type: 'bogus', room: 'lobby', data: 3 })
    ).json()) as {
      status: number;
      errors: Array<{ field: string }>;
    };
    expect(first.status).toBe(400);
    expect(first.errors.map((e) => e.field).sort()).toEqual(['data', 'event_type', 'room']);
    const second = (await (
      await broadcast({
        event_type: 'workflow.progress',
        room: 'global',
        data: { workflow_id: 'w 1', progress: 150, status: 'dancing', extra: 1 },
      })
    ).json()) as { status: number; errors: Array<{ field: string }> };
    expect(second.status).toBe(400);
    expect([...new Set(second.errors.map((e) => e.field))].sort()).toEqual([
      'data.extra',
      'data.progress',
      'data.status',
      'data.workflow_id',
    ]);
    await drained(listener);
    expect(listener.received.some((r) => r.event === 'workflow.progress')).toBe(false);
  });

  it('replays global domain events with hook events to a reconnecting client, in order', async () => {
    const first = await open();
    const hook = await fetch(`${app.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hook_event_name: 'Stop', session_id: 's-r' }),
    });
    const seen = ((await hook.json()) as { id: number }).id;
    await first.next('event');
    first.close();
    const global = (
      (await (
        await broadcast({
          event_type: 'ai.suggestion',
          room: 'global',
          data: { title: 'Add a retry', confidence: 0.8 },
        })
      ).json()) as { id: number }
    ).id;
    await broadcast({
      event_type: 'ai.suggestion',
      room: 'project:private',
      data: { title: 'secret', confidence: 0.5 },
    });
    const again = await open({ last_event_id: seen });
    const replayed = await again.next('ai.suggestion');
    expect(replayed.message).toMatchObject({ event_id: global, data: { title: 'Add a retry' } });
    await drained(again);
    expect(again.received.filter((r) => r.event === 'ai.suggestion')).toHaveLength(1);
  });

  it('verifies the GitHub signature and maps pull requests and issues to the repository room', async () => {
    const listener = await open();
    await listener.emitAck('subscribe', { room: 'project:acme/shop' });
    const pr = {
      action: 'opened',
      repository: { full_name: 'acme/shop' },
      pull_request: {
        number: 7,
        title: 'Retry payments',
        html_url: 'https://github.com/acme/shop/pull/7',
        user: { login: 'dev' },
      },
    };
    expect((await github('pull_request', pr, 'wrong-secret')).status).toBe(401);
    const unsigned = await fetch(`${app.url}/api/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request' },
      body: JSON.stringify(pr),
    });
    expect(unsigned.status).toBe(401);
    await drained(listener);
    expect(listener.received.some((r) => r.event === 'pr.created')).toBe(false);

    expect((await github('pull_request', pr)).status).toBe(202);
    expect((await listener.next('pr.created')).message.data).toEqual({
      repository: 'acme/shop',
      number: 7,
      title: 'Retry payments',
      url: 'https://github.com/acme/shop/pull/7',
      author: 'dev',
    });
    const issue = {
      action: 'closed',
      repository: { full_name: 'acme/shop' },
      issue: {
        number: 3,
        title: 'Flaky test',
        html_url: 'https://github.com/acme/shop/issues/3',
        state: 'closed',
      },
    };
    expect((await github('issues', issue)).status).toBe(202);
    expect((await listener.next('issue.updated')).message.data).toMatchObject({
      number: 3,
      action: 'closed',
      state: 'closed',
    });
    const ignored = await github('ping', { zen: 'hi', repository: { full_name: 'acme/shop' } });
    expect(await ignored.json()).toEqual({ accepted: false });
    await waitFor(
      () => listener.received.filter((r) => r.event === 'issue.updated').length === 1,
      500,
      'one issue',
    );
  });
});

describe('GitHub webhook without a secret', () => {
  it('is not there', async () => {
    const db = createSqliteDatabase();
    const app = await startTestApp(db.env);
    try {
      const res = await fetch(`${app.url}/api/webhooks/github`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(404);
    } finally {
      await app.close();
      await db.drop();
    }
  });
});
