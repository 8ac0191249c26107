import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postAlert } from '../../src/alerts/alert-webhooks';
import type { AlertDto } from '../../src/alerts/dto/alert.dto';
import { ConfigValidationError, loadConfig } from '../../src/config/load-config';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/databases';
import { startTestApp, type RunningApp } from '../support/test-app';

const GITHUB_SECRET = 'hooks-security-github-secret';

/** A local HTTP server that counts requests and answers with `answer`. */
async function listen(answer: (res: import('node:http').ServerResponse) => void) {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { url, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('alert webhooks', () => {
  it('never follows a redirect (counted as a failed delivery) and keeps the URL out of errors', async () => {
    const target = await listen((res) => res.writeHead(200).end());
    const redirector = await listen((res) =>
      res.writeHead(307, { location: `${target.url}/stolen` }).end(),
    );
    try {
      const secretPath = `/services/T000/B000/${randomUUID()}`;
      const alert: AlertDto = {
        id: 1,
        key: 'k',
        type: 'bridge_failed',
        severity: 'critical',
        title: 't',
        text: 'x',
        data: {},
        timestamp: Date.now(),
      };
      // A failed attempt (retried later by the outbox, which test/alerts covers), never followed.
      const failure = await postAlert(`${redirector.url}${secretPath}`, alert).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(String(failure?.message)).not.toContain(secretPath);
      expect(target.hits).toEqual([]);
      expect(redirector.hits).toHaveLength(1);
    } finally {
      await target.close();
      await redirector.close();
    }

    // A bad value is refused without being repeated (a Slack URL is a credential).
    let error: unknown;
    try {
      loadConfig({ ALERT_WEBHOOK_URLS: 'ftp://hooks.slack.com/services/T0/B0/SECRETPART' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as Error).message).toContain('ALERT_WEBHOOK_URLS=(value hidden)');
    expect((error as Error).message).not.toContain('SECRETPART');
  }, 30_000);
});

describe.each(databaseKinds())('hook input on %s', (kind) => {
  let db: TestDatabase;
  let app: RunningApp;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startTestApp({ ...db.env, GITHUB_WEBHOOK_SECRET: GITHUB_SECRET });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });
  const post = (body: unknown) =>
    fetch(`${app.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('stores a timestamp of 1e20 as the received time (saying so), and the events batched with it are stored too', async () => {
    const before = Date.now();
    const results = await Promise.all([
      post({ hook_event_name: 'Stop', session_id: 'ts', timestamp: 1e20 }),
      ...Array.from({ length: 10 }, (_, i) =>
        post({ hook_event_name: 'Notification', session_id: 'ts', n: i }),
      ),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(11).fill(201));
    const { id } = (await results[0].json()) as { id: number };
    const list = (await (await fetch(`${app.url}/api/events?session_id=ts`)).json()) as {
      events: Array<{
        id: number;
        timestamp: number;
        timestamp_source: string;
        received_at: number;
        payload: { timestamp?: number };
      }>;
    };
    expect(list.events).toHaveLength(11);
    const odd = list.events.find((e) => e.id === id)!;
    expect(odd.timestamp_source).toBe('out_of_range');
    expect(odd.timestamp).toBe(odd.received_at);
    expect(odd.timestamp).toBeGreaterThanOrEqual(before);
    expect(odd.payload.timestamp).toBe(1e20);
    expect(list.events.filter((e) => e.timestamp_source === 'received')).toHaveLength(10);
  });

  it('caps a 10 KB skill name where it becomes a metric (and an alert key)', async () => {
    const skill = 's'.repeat(10_000);
    for (const hook_event_name of ['PreToolUse', 'PostToolUse'])
      expect(
        (
          await post({
            hook_event_name,
            session_id: 'sk',
            tool_name: 'Skill',
            tool_use_id: 'toolu_long',
            tool_input: { skill },
            ...(hook_event_name === 'PostToolUse' ? { tool_response: { ok: true } } : {}),
          })
        ).status,
      ).toBe(201);
    const metrics = (await (await fetch(`${app.url}/api/skills/metrics`)).json()) as {
      top_skills: Array<{ skill_name: string }>;
    };
    const row = metrics.top_skills.find((s) => s.skill_name.startsWith('Skill:s'));
    expect(row?.skill_name).toHaveLength(100);
    expect(row?.skill_name.endsWith('…')).toBe(true);
  });

  it('stores a repeated GitHub delivery once', async () => {
    const body = JSON.stringify({
      action: 'opened',
      repository: { full_name: 'acme/shop' },
      issue: {
        number: 7,
        title: 'Bug',
        state: 'open',
        html_url: 'https://github.com/acme/shop/issues/7',
      },
    });
    const headers = {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', GITHUB_SECRET).update(body).digest('hex')}`,
    };
    const send = async () =>
      (await (
        await fetch(`${app.url}/api/webhooks/github`, { method: 'POST', headers, body })
      ).json()) as { accepted: boolean; id: number; duplicate?: boolean };
    const first = await send();
    const again = await send();
    expect(first).toMatchObject({ accepted: true });
    expect(first.duplicate).toBeUndefined();
    expect(again).toEqual({ ...first, duplicate: true });
  });
});
