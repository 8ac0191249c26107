import Anthropic from '@anthropic-ai/sdk';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_OUTPUT_TOKENS, startAnthropicUpstream, USAGE } from './support/anthropic-upstream';
import {
  createTestDatabase,
  databaseKinds,
  queryDatabase,
  type TestDatabase,
} from './support/databases';
import { createMembers } from './support/members';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

const KEY = 'proxy-admin-key-0123456789';
const ORG_KEY = 'sk-ant-org-key-0123456789abcdef';
const BETA = 'claude-code-20250219,interleaved-thinking-2025-05-14,some-future-beta-2027-01-01';
const SESSION = '5f0c5e4e-1b1f-4d1e-9f1e-0a0b0c0d0e0f';

const hash = (bytes: Buffer | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The bytes of a request as Claude Code sends them (fields the proxy must not touch included). */
const messageBody = (text: string, stream = true) =>
  JSON.stringify({
    model: 'claude-sonnet-4-5-20250929',
    max_tokens: 1024,
    stream,
    system: [{ type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.240' }],
    messages: [{ role: 'user', content: text }],
    context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
    some_field_of_2027: { kept: true },
  });

interface LedgerRow {
  source: string;
  member: string;
  model: string;
  request_id: string;
  message_id: string;
  session_id: string;
  project_path: string;
  input_tokens: number | string;
  output_tokens: number | string;
  cache_creation_tokens: number | string;
  cache_read_tokens: number | string;
  cost_usd: number | string;
  attributes: string | null;
}

/**
 * The gateway in the request path (docs/proxy.md), driven by the official SDK and by raw HTTP
 * against a local upstream that speaks the Messages API: requests and answers pass unchanged
 * (streams byte for byte, errors as they came), the organisation's key replaces the member's
 * token, a caller's own credential passes through, each answer is one ledger row counted once
 * with its transcript line, a caller going away cancels the upstream, a silent upstream is cut.
 */
describe.each(databaseKinds())('the Anthropic proxy on %s', (kind) => {
  let db: TestDatabase;
  let upstream: Awaited<ReturnType<typeof startAnthropicUpstream>>;
  let app: RunningApp;
  let open: RunningApp;
  let alice: string;

  const rows = (where = '') =>
    queryDatabase<LedgerRow>(
      db,
      `SELECT source, member, model, request_id, message_id, session_id, project_path, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, attributes FROM usage_entries ${where} ORDER BY id`,
    );
  const post = (base: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/messages?beta=true`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
        'anthropic-beta': BETA,
        'x-claude-code-session-id': SESSION,
        ...headers,
      },
      body,
    });

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    upstream = await startAnthropicUpstream();
    app = await startTestApp({
      ...db.env,
      API_KEYS: KEY,
      PROXY_ANTHROPIC_URL: upstream.url,
      PROXY_ANTHROPIC_API_KEY: ORG_KEY,
      PROXY_IDLE_TIMEOUT_MS: '1000',
    });
    ({ alice } = await createMembers(app.url, KEY, ['alice']));
    // Another gateway on the same database, without the organisation's key: pass-through only.
    open = await startTestApp({
      ...db.env,
      API_KEYS: KEY,
      PROXY_ANTHROPIC_URL: upstream.url,
      PROXY_BODY_LIMIT_BYTES: String(64 * 1024),
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await open?.close();
    await upstream?.close();
    await db?.drop();
  });

  it('relays a stream byte for byte, headers and body unchanged, the key swapped in, and meters it once', async () => {
    const body = messageBody('stream me');
    const direct = await post(upstream.url, body, { 'x-api-key': ORG_KEY });
    const directBytes = Buffer.from(await direct.arrayBuffer());
    const seen = upstream.received.length;

    const res = await post(app.url, body, { authorization: `Bearer ${alice}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(hash(bytes)).toBe(hash(directBytes));
    expect(bytes.toString()).toContain('event: ping');

    const got = upstream.received[seen];
    expect(got.url).toBe('/v1/messages?beta=true');
    expect(hash(got.body)).toBe(hash(Buffer.from(body)));
    expect(got.headers['anthropic-beta']).toBe(BETA);
    expect(got.headers['anthropic-version']).toBe('2023-06-01');
    expect(got.headers['x-api-key']).toBe(ORG_KEY);
    expect(got.headers.authorization).toBeUndefined();
    expect(JSON.stringify(got.headers)).not.toContain(alice);

    const requestId = res.headers.get('request-id')!;
    const [row] = await waitFor(async () => {
      const found = await rows(`WHERE request_id = '${requestId}'`);
      return found.length ? found : undefined;
    }, 10_000);
    expect(row).toMatchObject({
      source: 'proxy',
      member: 'alice',
      model: 'claude-sonnet-4-5-20250929',
      session_id: SESSION,
      attributes: null,
    });
    expect(
      [row.input_tokens, row.output_tokens, row.cache_creation_tokens, row.cache_read_tokens].map(
        Number,
      ),
    ).toEqual([
      USAGE.input_tokens,
      FINAL_OUTPUT_TOKENS,
      USAGE.cache_creation_input_tokens,
      USAGE.cache_read_input_tokens,
    ]);
    expect(Number(row.cost_usd)).toBeGreaterThan(0);

    // The same request as Claude Code's transcript line (pushed) and as its OTLP event: once.
    const pushed = await fetch(`${app.url}/api/usage/entries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        machine: 'laptop',
        entries: [
          {
            ts: Date.now(),
            model: 'claude-sonnet-4-5-20250929',
            input_tokens: USAGE.input_tokens,
            output_tokens: FINAL_OUTPUT_TOKENS,
            cache_creation_tokens: USAGE.cache_creation_input_tokens,
            cache_read_tokens: USAGE.cache_read_input_tokens,
            session_id: SESSION,
            project_path: '/home/alice/shop',
            project: '-home-alice-shop',
            message_id: row.message_id,
            request_id: requestId,
          },
        ],
      }),
    });
    expect(pushed.status).toBe(200);
    const otlp = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: {
              attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }],
            },
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: `${Date.now()}000000`,
                    body: { stringValue: 'claude_code.api_request' },
                    attributes: [
                      { key: 'event.name', value: { stringValue: 'api_request' } },
                      { key: 'session.id', value: { stringValue: SESSION } },
                      { key: 'model', value: { stringValue: 'claude-sonnet-4-5-20250929' } },
                      { key: 'input_tokens', value: { intValue: USAGE.input_tokens } },
                      { key: 'output_tokens', value: { intValue: FINAL_OUTPUT_TOKENS } },
                      {
                        key: 'cache_read_tokens',
                        value: { intValue: USAGE.cache_read_input_tokens },
                      },
                      {
                        key: 'cache_creation_tokens',
                        value: { intValue: USAGE.cache_creation_input_tokens },
                      },
                      { key: 'request_id', value: { stringValue: requestId } },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(otlp.status).toBe(200);
    const all = await rows(`WHERE request_id = '${requestId}'`);
    expect(all).toHaveLength(1);
    // The transcript line knows the project: it takes the proxy's place with the same figures.
    expect(all[0]).toMatchObject({ source: 'push', project_path: '/home/alice/shop' });
  });

  it('serves the official SDK: a stream, a whole message, token counting and model discovery', async () => {
    const client = new Anthropic({ baseURL: app.url, authToken: alice, apiKey: null });
    const stream = client.messages.stream({
      model: 'claude-sonnet-4-5-20250929',
      max_tokens: 512,
      messages: [{ role: 'user', content: 'sdk stream' }],
    });
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    const final = await stream.finalMessage();
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(final.usage.output_tokens).toBe(FINAL_OUTPUT_TOKENS);

    const whole = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'not streamed' }],
    });
    expect(whole.content).toEqual([{ type: 'text', text: 'Hello there.' }]);
    await waitFor(
      async () => (await rows(`WHERE message_id = '${whole.id}'`)).length === 1,
      10_000,
    );
    const [haiku] = await rows(`WHERE message_id = '${whole.id}'`);
    expect(haiku).toMatchObject({ source: 'proxy', model: 'claude-haiku-4-5' });
    expect(Number(haiku.output_tokens)).toBe(FINAL_OUTPUT_TOKENS);

    const counted = await client.messages.countTokens({
      model: 'claude-sonnet-4-5-20250929',
      messages: [{ role: 'user', content: 'count me' }],
    });
    expect(counted.input_tokens).toBe(4242);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['claude-sonnet-4-5-20250929']);
  });

  it('passes a caller’s own credential through untouched, naming the member by X-Usage-Gateway-Token', async () => {
    const client = new Anthropic({
      baseURL: open.url,
      apiKey: 'sk-ant-api03-own-key',
      defaultHeaders: { 'X-Usage-Gateway-Token': alice },
    });
    const seen = upstream.received.length;
    const message = await client.messages.create({
      model: 'claude-opus-4-1-20250805',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'my own key' }],
    });
    const got = upstream.received[seen];
    // The SDK sends its key as it does (this version: a bearer); it reaches the upstream as sent.
    expect(got.headers.authorization ?? got.headers['x-api-key']).toMatch(/sk-ant-api03-own-key$/);
    expect(got.headers['x-usage-gateway-token']).toBeUndefined();
    expect(JSON.stringify(got.headers)).not.toContain(alice);
    await waitFor(
      async () => (await rows(`WHERE message_id = '${message.id}'`)).length === 1,
      10_000,
    );
    expect((await rows(`WHERE message_id = '${message.id}'`))[0].member).toBe('alice');
    // A Pro/Max login's OAuth bearer passes as it came.
    const oauth = await post(open.url, messageBody('oauth', false), {
      authorization: 'Bearer sk-ant-oat01-a-login',
      'x-usage-gateway-token': alice,
    });
    expect(oauth.status).toBe(200);
    expect(upstream.received.at(-1)!.headers.authorization).toBe('Bearer sk-ant-oat01-a-login');
    const keyed = await post(open.url, messageBody('x-api-key', false), {
      'x-api-key': 'sk-ant-api03-own-key',
      'x-usage-gateway-token': alice,
    });
    expect(keyed.status).toBe(200);
    expect(upstream.received.at(-1)!.headers['x-api-key']).toBe('sk-ant-api03-own-key');
  });

  it('returns upstream errors as they came, before and during a stream', async () => {
    for (const [scenario, status] of [
      ['invalid', 400],
      ['overloaded', 529],
    ] as const) {
      const direct = await post(upstream.url, messageBody(scenario), {
        'x-api-key': ORG_KEY,
        'x-test-scenario': scenario,
      });
      const res = await post(app.url, messageBody(scenario), {
        'x-api-key': alice,
        'x-test-scenario': scenario,
      });
      expect(res.status).toBe(status);
      expect(await res.text()).toBe(await direct.text());
      if (status === 400) expect(res.headers.get('x-should-retry')).toBe('false');
    }
    const client = new Anthropic({
      baseURL: app.url,
      authToken: alice,
      apiKey: null,
      maxRetries: 0,
    });
    await expect(
      client.messages.create(
        { model: 'claude-sonnet-4-5-20250929', max_tokens: 1, messages: [] },
        { headers: { 'x-test-scenario': 'invalid' } },
      ),
    ).rejects.toThrow(/max_tokens: Field required/);

    // An error event mid-stream reaches the client; what was seen is recorded, marked cut.
    const body = messageBody('midstream');
    const res = await post(app.url, body, {
      'x-api-key': alice,
      'x-test-scenario': 'midstream-error',
    });
    const text = await res.text();
    expect(text).toMatch(
      /event: error\ndata: \{"type":"error","error":\{"type":"overloaded_error"/,
    );
    const requestId = res.headers.get('request-id')!;
    await waitFor(
      async () => (await rows(`WHERE request_id = '${requestId}'`)).length === 1,
      10_000,
    );
    const [cut] = await rows(`WHERE request_id = '${requestId}'`);
    expect(Number(cut.output_tokens)).toBe(USAGE.output_tokens);
    expect(JSON.parse(String(cut.attributes))).toEqual({ proxy_incomplete: 'true' });
  });

  it('cancels the upstream request when the caller goes away, and cuts a silent upstream', async () => {
    const before = upstream.cancelled();
    const controller = new AbortController();
    const res = await post(app.url, messageBody('hang'), {
      'x-api-key': alice,
      'x-test-scenario': 'hang',
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toContain('message_start');
    controller.abort();
    await reader.cancel();
    await waitFor(() => upstream.cancelled() > before, 10_000, 'the upstream request cancelled');

    const silent = await post(app.url, messageBody('silent'), {
      'x-api-key': alice,
      'x-test-scenario': 'silent',
    });
    expect(silent.status).toBe(504);
    expect(await silent.json()).toMatchObject({
      type: 'error',
      error: { type: 'api_error', message: expect.stringMatching(/silent for 1000 ms/) },
    });
  });

  it('refuses a caller it cannot name, answers the probe itself, and is never an open proxy', async () => {
    const seen = upstream.received.length;
    const anonymous = await post(app.url, messageBody('who'));
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error', message: expect.stringMatching(/member token/) },
    });
    const forged = await post(app.url, messageBody('who'), { authorization: 'Bearer ugm_nope' });
    expect(forged.status).toBe(401);
    const own = await post(app.url, messageBody('who'), { 'x-usage-gateway-token': 'sk-ant-x' });
    expect(own.status).toBe(401);
    const probe = await fetch(`${app.url}/api/hello`, { method: 'HEAD' });
    expect(probe.status).toBe(200);
    // A Host outside the allow-list (DNS rebinding) is refused before anything else.
    const badHost = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${app.url}/v1/messages`,
        { method: 'POST', headers: { host: 'evil.example', 'x-api-key': alice } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.end(messageBody('host'));
    });
    expect(badHost).toBe(403);
    // A body over PROXY_BODY_LIMIT_BYTES (here 64 KiB) is refused, in the API's own shape.
    const large = await post(open.url, messageBody('x'.repeat(65 * 1024)), {
      'x-api-key': 'sk-ant-api03-own-key',
      'x-usage-gateway-token': alice,
    });
    expect(large.status).toBe(413);
    expect(await large.json()).toEqual({
      type: 'error',
      error: {
        type: 'request_too_large',
        message:
          'usage-gateway: the request body is larger than PROXY_BODY_LIMIT_BYTES (65536 bytes)',
      },
    });
    // An absolute-form target naming another host goes nowhere.
    const { port } = new URL(app.url);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.end(
          `POST http://evil.example/v1/messages HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nx-api-key: ${alice}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
        ),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 4\d\d/);
    expect(upstream.received.length).toBe(seen);
  });
});
