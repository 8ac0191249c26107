import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../support/databases';
import { rawRequest } from '../support/raw-http';
import WebSocket from 'ws';
import { connectSocket, type TestSocket } from '../support/socket-client';
import { waitFor } from '../support/wait';
import { openStream } from '../support/stream-client';
import { startTestApp, type RunningApp } from '../support/test-app';

const GITHUB_SECRET = 'input-guard-github-secret';
const DEPTH = 10_000;

/** `{"a":{"a":…1…}}` nested `depth` levels, as text (JSON.stringify would recurse). */
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** A Socket.IO client written by hand (engine.io v4 text frames) on a raw WebSocket. */
async function rawSocketIo(url: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const frames: string[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    if (text === '2') ws.send('3'); // engine.io ping → pong
    frames.push(text);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await waitFor(() => frames.find((f) => f.startsWith('0{')), 3000, 'engine.io open');
  ws.send('40');
  await waitFor(() => frames.find((f) => f.startsWith('40')), 3000, 'socket.io connect');
  return {
    emitAck: async (id: number, command: string, body: string) => {
      ws.send(`42${id}[${JSON.stringify(command)},${body}]`);
      const frame = await waitFor(
        () => frames.find((f) => f.startsWith(`43${id}[`)),
        5000,
        `ack ${id}`,
      );
      return (JSON.parse(frame.slice(`43${id}`.length)) as unknown[])[0];
    },
    close: () => ws.close(),
  };
}

interface Problem {
  status: number;
  errors?: Array<{ field: string; message: string }>;
}

describe.each(databaseKinds())('input guards on %s', (kind) => {
  let db: TestDatabase;
  let app: RunningApp;
  const sockets: TestSocket[] = [];
  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    rawRequest(`${app.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const count = async () =>
    ((await (await fetch(`${app.url}/api/events?limit=1000`)).json()) as { count: number }).count;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startTestApp({ ...db.env, GITHUB_WEBHOOK_SECRET: GITHUB_SECRET });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('answers a body 10,000 levels deep with a 400 problem on every write route, before any validation', async () => {
    const github = (body: string) => ({
      'x-github-event': 'issues',
      'x-github-delivery': 'deep-1',
      'x-hub-signature-256': `sha256=${createHmac('sha256', GITHUB_SECRET).update(body).digest('hex')}`,
    });
    const deepEnvelope = `{"hook_event_type":"Stop","session_id":"s","payload":${deepObject(DEPTH)}}`;
    const cases: Array<[string, string, Record<string, string>?]> = [
      ['/api/events', deepObject(DEPTH)],
      ['/api/events', deepEnvelope],
      ['/api/events', deepArray(DEPTH)],
      ['/api/broadcasts', `{"event_type":"custom.x","room":"global","data":${deepObject(DEPTH)}}`],
      [
        '/api/broadcasts',
        `{"event_type":"project.updated","room":"global","data":${deepObject(DEPTH)}}`,
      ],
      ['/api/usage/config', `{"plan":${deepObject(DEPTH)}}`],
      ['/api/usage/config/reset', deepObject(DEPTH)],
      ['/api/webhooks/github', deepObject(DEPTH), github(deepObject(DEPTH))],
    ];
    const before = await count();
    for (const [path, body, headers] of cases) {
      const res = await post(path, body, headers);
      expect(res.status, path).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json<Problem>().errors).toEqual([
        { field: 'body', message: 'the body nests deeper than 64 levels' },
      ]);
    }
    // `custom.*` data is capped too, at the same depth.
    const custom65 = await post(
      '/api/broadcasts',
      `{"event_type":"custom.x","room":"global","data":${deepObject(64)}}`,
    );
    expect(custom65.status).toBe(400);
    expect(await count()).toBe(before);
  });

  it('refuses invalid UTF-8, 1e309, lone surrogates and NUL with every place named, and stores nothing', async () => {
    const before = await count();
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"hook_event_name":"UserPromptSubmit","session_id":"s","prompt":"caf'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const bad = await post('/api/events', invalidUtf8);
    expect(bad.status).toBe(400);
    expect(bad.json<Problem>().errors).toEqual([
      { field: 'body', message: 'the body is not valid UTF-8' },
    ]);

    const huge = await post(
      '/api/events',
      '{"hook_event_name":"PostToolUse","session_id":"s","tool_response":{"size":1e309,"list":[1,-1e400]}}',
    );
    expect(huge.status).toBe(400);
    expect(huge.json<Problem>().errors?.map((e) => e.field)).toEqual([
      'tool_response.size',
      'tool_response.list[1]',
    ]);

    const surrogate = await post(
      '/api/events',
      '{"hook_event_name":"Stop","session_id":"s","note":"\\ud800","\\udfff":1,"nul":"a\\u0000b"}',
    );
    expect(surrogate.status).toBe(400);
    expect(
      surrogate
        .json<Problem>()
        .errors?.map((e) => e.field)
        .sort(),
    ).toEqual(['note', 'nul', '\udfff']);
    // A well-formed pair (an emoji) is fine and kept exactly.
    const emoji = await post(
      '/api/events',
      '{"hook_event_name":"Stop","session_id":"s","note":"\\ud83d\\ude00 ok","n":1e308}',
    );
    expect(emoji.status).toBe(201);
    const stored = (await (
      await fetch(`${app.url}/api/events?limit=1&after_id=${emoji.json<{ id: number }>().id - 1}`)
    ).json()) as { events: Array<{ payload: { note: string; n: number } }> };
    expect(stored.events[0].payload).toMatchObject({ note: '😀 ok', n: 1e308 });
    expect(await count()).toBe(before + 1);
  });

  it('refuses the prototype keys at every entry that parses JSON, naming the place, and stores nothing', async () => {
    const before = await count();
    const configBefore = await (await fetch(`${app.url}/api/usage/config`)).json();
    const proto = '{"__proto__":{"admin":true}}';
    const ctor = '{"constructor":{"prototype":{"admin":true}}}';
    const cases: Array<[string, string, string]> = [
      [
        '/api/events',
        `{"hook_event_name":"Stop","session_id":"s","__proto__":{"x":1}}`,
        '__proto__',
      ],
      [
        '/api/events',
        `{"hook_event_name":"PostToolUse","session_id":"s","tool_input":${ctor}}`,
        'tool_input.constructor',
      ],
      [
        '/api/events',
        `{"hook_event_name":"Stop","session_id":"s","a":[${proto}]}`,
        'a[0].__proto__',
      ],
      [
        '/api/broadcasts',
        `{"event_type":"custom.x","room":"global","data":${proto}}`,
        'data.__proto__',
      ],
      [
        '/api/broadcasts',
        `{"event_type":"custom.x","room":"global","data":{"deep":${ctor}}}`,
        'data.deep.constructor',
      ],
      ['/api/usage/config', `{"plan":"max5","__proto__":{"plan":"max20"}}`, '__proto__'],
      ['/api/usage/config', `{"plan":"max5",${ctor.slice(1, -1)}}`, 'constructor'],
      ['/api/usage/entries', `{"entries":[${proto}]}`, 'entries[0].__proto__'],
      [
        '/v1/logs',
        `{"resourceLogs":[{"resource":${proto},"scopeLogs":[]}]}`,
        'resourceLogs[0].resource.__proto__',
      ],
      ['/v1/metrics', `{"resourceMetrics":[${ctor}]}`, 'resourceMetrics[0].constructor'],
    ];
    for (const [path, body, field] of cases) {
      const res = await post(path, body);
      expect(res.status, `${path} ${body}`).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json<Problem>().errors, body).toEqual([
        { field, message: expect.stringMatching(/refused \(it would set a prototype\)/) },
      ]);
    }
    expect(await count()).toBe(before);
    expect(await (await fetch(`${app.url}/api/usage/config`)).json()).toEqual(configBefore);
    const entries = (await (await fetch(`${app.url}/api/team/usage/reports/daily`)).json()) as {
      daily: unknown[];
    };
    expect(entries.daily).toEqual([]);

    // Both socket transports: a command's body, and Socket.IO's handshake `auth` object.
    const raw = await rawSocketIo(app.url);
    expect(await raw.emitAck(1, 'ping', proto)).toMatchObject({
      status: 'error',
      code: 'bad_request',
      errors: [{ field: '__proto__', message: expect.stringContaining('prototype') }],
    });
    expect(await raw.emitAck(2, 'subscribe', `{"room":"global","x":${ctor}}`)).toMatchObject({
      status: 'error',
      errors: [{ field: 'x.constructor' }],
    });
    raw.close();
    const refused = connectSocket(app.url, { auth: JSON.parse(proto) as Record<string, unknown> });
    sockets.push(refused);
    const error = await new Promise<Error>((resolve) =>
      refused.socket.once('connect_error', resolve),
    );
    expect(error.message).toMatch(/^bad_request: the key "__proto__" is refused/);

    const stream = await openStream(app.url);
    await stream.next('initial');
    stream.send(`{"type":"subscribe","id":3,"room":"global","__proto__":{"x":1}}`);
    expect((await stream.next('ack')).data).toMatchObject({
      status: 'error',
      code: 'bad_request',
      id: 3,
      errors: [{ field: '__proto__' }],
    });
    // The echoed id passes the same guard; a refused id is not echoed back.
    stream.send(`{"type":"ping","id":{"__proto__":{"x":1}}}`);
    const refusedId = (await stream.next('ack', 1)).data as Record<string, unknown>;
    expect(refusedId).toMatchObject({
      status: 'error',
      code: 'bad_request',
      errors: [{ field: 'id.__proto__' }],
    });
    expect(refusedId).not.toHaveProperty('id');
    stream.send(`{"type":"ping","id":{"n":1}}`);
    expect((await stream.next('ack', 2)).data).toMatchObject({ status: 'success', id: { n: 1 } });
    stream.ws.close();
  });

  it('answers a socket message 10,000 levels deep with bad_request on both transports', async () => {
    // socket.io-client cannot even encode such a message (it recurses), so the frames are
    // written by hand on a raw WebSocket: `42<ack id>["<command>", <body>]`.
    const raw = await rawSocketIo(app.url);
    for (const [i, command] of [
      'subscribe',
      'request_usage_update',
      'subscribe_metrics',
      'ping',
    ].entries()) {
      const ack = await raw.emitAck(i, command, deepObject(DEPTH));
      expect(ack, command).toMatchObject({
        status: 'error',
        code: 'bad_request',
        message: 'the message nests deeper than 64 levels',
      });
    }
    expect(await raw.emitAck(9, 'ping', '{"x":1e309}')).toMatchObject({
      status: 'error',
      code: 'bad_request',
    });
    expect(await raw.emitAck(10, 'ping', '{}')).toMatchObject({ status: 'success' });
    raw.close();

    const stream = await openStream(app.url);
    await stream.next('initial');
    stream.send(`{"type":"subscribe","id":7,"room":${deepObject(DEPTH)}}`);
    const ack = await stream.next('ack');
    expect(ack.data).toMatchObject({ status: 'error', code: 'bad_request', id: 7 });
    stream.send(`{"type":"ping","id":8,"x":1e309}`);
    expect((await stream.next('ack', 1)).data).toMatchObject({ status: 'error', id: 8 });
    stream.ws.close();
  });

  it('answers the HTTP layer’s own errors as problem details: 431 for huge headers, 400 for a bad byte', async () => {
    const big = await rawRequest(`${app.url}/api/events`, {
      headers: { 'x-filler': 'a'.repeat(20_000) },
    });
    expect(big.status).toBe(431);
    expect(big.headers['content-type']).toBe('application/problem+json');
    expect(big.json()).toMatchObject({ status: 431, title: 'Request Header Fields Too Large' });
    expect(big.headers['x-request-id']).toBeTruthy();

    const port = Number(new URL(app.url).port);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: a\u0001b\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(raw).toContain('Content-Type: application/problem+json');
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400 });
  });
});
