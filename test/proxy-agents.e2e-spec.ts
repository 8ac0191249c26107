import { GoogleGenAI } from '@google/genai';
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentPrices } from '../src/team/ledger/agent-prices';
import {
  createTestDatabase,
  databaseKinds,
  queryDatabase,
  type TestDatabase,
} from './support/databases';
import { GEMINI_USAGE, startGeminiUpstream } from './support/gemini-upstream';
import { createMembers } from './support/members';
import { RESPONSES_USAGE, startOpenAiUpstream } from './support/openai-upstream';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

const KEY = 'proxy-agents-admin-key-0123456789';
const OPENAI_KEY = 'sk-proj-org-key-0123456789abcdef';
const GEMINI_KEY = 'AIza-org-key-0123456789abcdef';
const MODEL = 'gpt-5.1-codex';
const PRICES = AgentPrices.load();

const hash = (bytes: Buffer | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Row {
  agent: string;
  source: string;
  member: string;
  model: string;
  session_id: string;
  input_tokens: number | string;
  output_tokens: number | string;
  cache_read_tokens: number | string;
  reasoning_tokens: number | string;
  extra_tokens: number | string;
  cost_usd: number | string;
  attributes: string | null;
}
const counts = (row: Row) =>
  [
    row.input_tokens,
    row.output_tokens,
    row.cache_read_tokens,
    row.reasoning_tokens,
    row.extra_tokens,
  ].map(Number);

/** A Responses API request as Codex sends it (fields the proxy must not touch included). */
const responsesBody = (text: string, stream = true) =>
  JSON.stringify({
    model: MODEL,
    instructions: 'You are Codex.',
    input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }],
    tools: [],
    tool_choice: 'auto',
    parallel_tool_calls: false,
    reasoning: { effort: 'medium', summary: 'auto' },
    store: false,
    stream,
    include: ['reasoning.encrypted_content'],
    prompt_cache_key: 'conversation',
  });

/**
 * Codex (OpenAI Responses API) and Gemini CLI (generateContent) through the gateway
 * (docs/proxy.md), driven by the official `openai` and `@google/genai` clients and raw HTTP
 * against local upstreams that speak each API: streams byte for byte, the organisation's key
 * swapped in, each answer's final usage one ledger row — a Codex call once, also when its rollout
 * line and its OTLP event arrive — errors as they came, aborts cancelling upstream, and enforced
 * budgets answered in each API's own shape for a spent quota.
 */
describe.each(databaseKinds())('the Codex and Gemini CLI proxies on %s', (kind) => {
  let db: TestDatabase;
  let openai: Awaited<ReturnType<typeof startOpenAiUpstream>>;
  let gemini: Awaited<ReturnType<typeof startGeminiUpstream>>;
  let app: RunningApp;
  let tokens: Record<string, string>;

  const rows = (where: string) =>
    queryDatabase<Row>(
      db,
      `SELECT agent, source, member, model, session_id, input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, extra_tokens, cost_usd, attributes FROM usage_entries WHERE ${where} ORDER BY id`,
    );
  const rowsOnce = (where: string, n = 1) =>
    waitFor(async () => {
      const found = await rows(where);
      return found.length >= n ? found : undefined;
    }, 10_000);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    openai = await startOpenAiUpstream();
    gemini = await startGeminiUpstream();
    app = await startTestApp({
      ...db.env,
      API_KEYS: KEY,
      PROXY_OPENAI_URL: `${openai.url}/v1`,
      PROXY_OPENAI_API_KEY: OPENAI_KEY,
      PROXY_GEMINI_URL: gemini.url,
      PROXY_GEMINI_API_KEY: GEMINI_KEY,
      PROXY_IDLE_TIMEOUT_MS: '1000',
    });
    tokens = await createMembers(app.url, KEY, ['alice', 'bob']);
    const budget = await fetch(`${app.url}/api/team/budgets`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ member: 'bob', period: 'week', usd: 0.01, enforce: true }),
    });
    expect(budget.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await openai?.close();
    await gemini?.close();
    await db?.drop();
  });

  describe('Codex: POST /v1/responses', () => {
    const post = (base: string, body: string, headers: Record<string, string>) =>
      fetch(`${base}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });

    it('relays a stream byte for byte with the key swapped in, and meters its final usage once with its rollout line and OTLP event', async () => {
      const conversation = '0199c0de-0000-7000-8000-00000000a001';
      const body = responsesBody('stream me');
      const direct = Buffer.from(
        await (
          await post(openai.url, body, { authorization: `Bearer ${OPENAI_KEY}` })
        ).arrayBuffer(),
      );
      const seen = openai.received.length;
      const res = await post(app.url, body, {
        authorization: `Bearer ${tokens.alice}`,
        session_id: conversation,
        originator: 'codex_cli_rs',
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toMatch(/^req_/);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(hash(bytes)).toBe(hash(direct));
      const got = openai.received[seen];
      expect(got.url).toBe('/v1/responses');
      expect(hash(got.body)).toBe(hash(Buffer.from(body)));
      expect(got.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      expect(got.headers.session_id).toBe(conversation);
      expect(got.headers.originator).toBe('codex_cli_rs');
      expect(JSON.stringify(got.headers)).not.toContain(tokens.alice);

      const where = `agent = 'codex' AND session_id = '${conversation}'`;
      const [row] = await rowsOnce(where);
      const { input_tokens: input, output_tokens: output } = RESPONSES_USAGE;
      const cached = RESPONSES_USAGE.input_tokens_details.cached_tokens;
      const reasoning = RESPONSES_USAGE.output_tokens_details.reasoning_tokens;
      expect(row).toMatchObject({
        source: 'proxy',
        member: 'alice',
        model: MODEL,
        attributes: null,
      });
      expect(counts(row)).toEqual([input - cached, output, cached, reasoning, 0]);
      expect(Number(row.cost_usd)).toBeCloseTo(
        PRICES.cost('codex', MODEL, [input - cached, output, 0, cached]).usd,
        12,
      );

      // The same call from alice's rollout (pushed) and as Codex's OTLP event: still one row.
      const eventKey = [conversation, MODEL, input, cached, output, reasoning].join('|');
      const pushed = await fetch(`${app.url}/api/usage/entries`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.alice}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          machine: 'alice-laptop',
          entries: [
            {
              agent: 'codex',
              event_key: eventKey,
              ts: Date.now(),
              model: MODEL,
              input_tokens: input - cached,
              output_tokens: output,
              cache_creation_tokens: 0,
              cache_read_tokens: cached,
              reasoning_tokens: reasoning,
              cost_usd: Number(row.cost_usd),
              session_id: '2026/12/08/rollout-a001',
              project_path: '2026/12/08',
              project: 'codex',
            },
          ],
        }),
      });
      expect(await pushed.json()).toMatchObject({ received: 1, superseded: 1 });
      const otlp = await fetch(`${app.url}/v1/logs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.alice}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceLogs: [
            {
              resource: {
                attributes: [{ key: 'service.name', value: { stringValue: 'codex_cli_rs' } }],
              },
              scopeLogs: [
                {
                  logRecords: [
                    {
                      timeUnixNano: `${Date.now()}000000`,
                      attributes: [
                        ['event.name', { stringValue: 'codex.sse_event' }],
                        ['event.kind', { stringValue: 'response.completed' }],
                        ['conversation.id', { stringValue: conversation }],
                        ['model', { stringValue: MODEL }],
                        ['input_token_count', { intValue: input }],
                        ['cached_token_count', { intValue: cached }],
                        ['output_token_count', { intValue: output }],
                        ['reasoning_token_count', { intValue: reasoning }],
                      ].map(([key, value]) => ({ key, value })),
                    },
                  ],
                },
              ],
            },
          ],
        }),
      });
      expect(otlp.status).toBe(200);
      const all = await rows(
        `agent = 'codex' AND member = 'alice' AND cache_read_tokens = ${cached} AND (session_id = '${conversation}' OR session_id = '2026/12/08/rollout-a001')`,
      );
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ source: 'push' });
    });

    it('serves the official openai client: a stream, a whole response, an error as it came, an abort that cancels upstream', async () => {
      const client = new OpenAI({
        apiKey: tokens.alice,
        baseURL: `${app.url}/v1`,
        maxRetries: 0,
        defaultHeaders: { session_id: '0199c0de-0000-7000-8000-00000000a002' },
      });
      const types: string[] = [];
      let final: { usage?: unknown } | undefined;
      const stream = await client.responses.create({ model: MODEL, input: 'hello', stream: true });
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.completed') final = event.response;
      }
      expect(types[0]).toBe('response.created');
      expect(types.at(-1)).toBe('response.completed');
      expect(final?.usage).toEqual(RESPONSES_USAGE);
      const whole = await client.responses.create({ model: MODEL, input: 'whole' });
      expect(whole.output_text).toBe('Hello there.');
      await rowsOnce(`agent = 'codex' AND session_id = '0199c0de-0000-7000-8000-00000000a002'`);

      const error = await client.responses
        .create(
          { model: MODEL, input: 'bad', stream: true },
          { headers: { 'x-test-scenario': 'invalid' } },
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain(
        "Invalid value: 'nope'",
      );
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('invalid_value');

      const cancelled = openai.cancelled();
      const abort = new AbortController();
      const hanging = await client.responses.create(
        { model: MODEL, input: 'hang', stream: true },
        { headers: { 'x-test-scenario': 'hang' }, signal: abort.signal },
      );
      const iterator = hanging[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toMatchObject({ type: 'response.created' });
      abort.abort();
      await waitFor(() => openai.cancelled() > cancelled, 10_000, 'the upstream request cancelled');
    });

    it('passes a caller’s own credential through when the member is named by X-Usage-Gateway-Token', async () => {
      const own = 'sk-proj-alices-own-key-0123456789';
      const seen = openai.received.length;
      const res = await post(app.url, responsesBody('mine', false), {
        authorization: `Bearer ${own}`,
        'x-usage-gateway-token': tokens.alice,
        session_id: '0199c0de-0000-7000-8000-00000000a003',
      });
      expect(res.status).toBe(200);
      const got = openai.received[seen];
      expect(got.headers.authorization).toBe(`Bearer ${own}`);
      expect(got.headers['x-usage-gateway-token']).toBeUndefined();
      const [row] = await rowsOnce(`session_id = '0199c0de-0000-7000-8000-00000000a003'`);
      expect(row).toMatchObject({ agent: 'codex', member: 'alice' });
    });

    it('refuses a member over an enforced budget with OpenAI’s insufficient_quota, which Codex does not retry', async () => {
      const seen = openai.received.length;
      const res = await post(app.url, responsesBody('over budget'), {
        authorization: `Bearer ${tokens.bob}`,
      });
      expect(res.status).toBe(429);
      expect(res.headers.get('x-should-retry')).toBe('false');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({
        type: 'insufficient_quota',
        code: 'insufficient_quota',
        param: null,
      });
      expect(body.error.message).toMatch(/budget of \$0\.01 per week/);
      const client = new OpenAI({ apiKey: tokens.bob, baseURL: `${app.url}/v1` });
      const error = await client.responses
        .create({ model: MODEL, input: 'again' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect((error as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('insufficient_quota');
      expect(openai.received.length).toBe(seen);
    });
  });

  describe('Gemini CLI: POST /v1beta/models/<model>:<call>', () => {
    const path = (call: string) => `/v1beta/models/gemini-2.5-pro:${call}`;
    const body = JSON.stringify({
      contents: [{ role: 'user', parts: [{ text: 'hello' }] }],
      generationConfig: { temperature: 0, thinkingConfig: { includeThoughts: true } },
    });
    // As Gemini CLI's telemetry and chat records count it: prompt less cache, thoughts as output.
    const expected = [
      GEMINI_USAGE.promptTokenCount - GEMINI_USAGE.cachedContentTokenCount,
      GEMINI_USAGE.candidatesTokenCount,
      GEMINI_USAGE.cachedContentTokenCount,
      GEMINI_USAGE.thoughtsTokenCount,
      GEMINI_USAGE.thoughtsTokenCount,
    ];

    it('relays a stream byte for byte with the key swapped in, and meters it; the official client reads it', async () => {
      const send = (base: string, headers: Record<string, string>) =>
        fetch(`${base}${path('streamGenerateContent')}?alt=sse`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
      const direct = Buffer.from(
        await (await send(gemini.url, { 'x-goog-api-key': GEMINI_KEY })).arrayBuffer(),
      );
      const seen = gemini.received.length;
      const res = await send(app.url, { 'x-goog-api-key': tokens.alice });
      expect(res.status).toBe(200);
      expect(hash(Buffer.from(await res.arrayBuffer()))).toBe(hash(direct));
      const got = gemini.received[seen];
      expect(got.url).toBe(`${path('streamGenerateContent')}?alt=sse`);
      expect(got.headers['x-goog-api-key']).toBe(GEMINI_KEY);
      expect(hash(got.body)).toBe(hash(Buffer.from(body)));
      const [row] = await rowsOnce(`agent = 'gemini' AND member = 'alice'`);
      expect(row).toMatchObject({ source: 'proxy', model: 'gemini-2.5-pro', attributes: null });
      expect(counts(row)).toEqual(expected);
      expect(Number(row.cost_usd)).toBeCloseTo(
        PRICES.cost('gemini', 'gemini-2.5-pro', [
          expected[0],
          expected[1] + expected[4],
          0,
          expected[2],
        ]).usd,
        12,
      );

      const ai = new GoogleGenAI({ apiKey: tokens.alice, httpOptions: { baseUrl: app.url } });
      let text = '';
      for await (const chunk of await ai.models.generateContentStream({
        model: 'gemini-2.5-pro',
        contents: 'hello',
      }))
        text += chunk.text ?? '';
      expect(text).toBe('Hello there.');
      const whole = await ai.models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi' });
      expect(whole.usageMetadata).toEqual(GEMINI_USAGE);
      const counted = await ai.models.countTokens({ model: 'gemini-2.5-pro', contents: 'hi' });
      expect(counted.totalTokens).toBe(4242);
      // Two more calls metered; counting tokens is not a call.
      const three = await rowsOnce(`agent = 'gemini' AND member = 'alice'`, 3);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await rows(`agent = 'gemini' AND member = 'alice'`)).toHaveLength(three.length);
      expect(three).toHaveLength(3);
    });

    it('passes an upstream error unchanged, and refuses a member over an enforced budget as a spent quota', async () => {
      const error = await fetch(`${app.url}${path('generateContent')}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-goog-api-key': tokens.alice,
          'x-test-scenario': 'invalid',
        },
        body,
      });
      expect(error.status).toBe(400);
      expect(await error.json()).toEqual({
        error: {
          code: 400,
          message: '* GenerateContentRequest.contents: contents is not specified\n',
          status: 'INVALID_ARGUMENT',
        },
      });
      const refused = await fetch(`${app.url}${path('generateContent')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': tokens.bob },
        body,
      });
      expect(refused.status).toBe(429);
      const shape = (await refused.json()) as { error: Record<string, unknown> };
      expect(shape.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
      // Gemini CLI stops (TerminalQuotaError) on a QuotaFailure whose quota id names a day.
      expect(shape.error.details).toEqual([
        expect.objectContaining({
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [expect.objectContaining({ quotaId: expect.stringContaining('PerDay') })],
        }),
      ]);
      const anonymous = await fetch(`${app.url}${path('generateContent')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': 'AIza-not-a-member' },
        body,
      });
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toMatchObject({ error: { status: 'UNAUTHENTICATED' } });
    });
  });
});
