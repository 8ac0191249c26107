import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { connected, connectSocket, type TestSocket } from './support/socket-client';
import { openStream } from './support/stream-client';
import { startTestApp, type RunningApp } from './support/test-app';
import { signJwt } from './support/tokens';
import { waitFor } from './support/wait';

const KEY = 'bot-key-0123456789abcdef';
const SECRET = 'auth-matrix-secret-that-is-long-enough';

interface Problem {
  status: number;
  detail: string;
}

/** One gateway per configuration; sockets are closed after each test. */
function gatewayWith(env: Record<string, string>) {
  const state = { app: undefined as unknown as RunningApp, sockets: [] as TestSocket[] };
  let db: TestDatabase;
  beforeAll(async () => {
    db = createSqliteDatabase();
    state.app = await startTestApp({ ...db.env, ...env });
  });
  afterEach(() => {
    for (const s of state.sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await state.app?.close();
    await db?.drop();
  });
  const socket = async (
    auth: Record<string, unknown> = {},
    query = '',
  ): Promise<{ client: TestSocket; error?: string }> => {
    const client = connectSocket(`${state.app.url}${query}`, { auth });
    state.sockets.push(client);
    try {
      await connected(client);
      return { client };
    } catch (error) {
      return { client, error: (error as Error).message };
    }
  };
  return { state, socket };
}

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

describe('API_KEYS alone (the documented network setup): nothing is anonymous', () => {
  const { state, socket } = gatewayWith({ API_KEYS: KEY });

  it('refuses every /api read and write without a valid key; accepts X-API-Key or Bearer <key>', async () => {
    const { url } = state.app;
    for (const path of [
      '/api/events',
      '/api/events/filter-options',
      '/api/usage/config',
      '/api/usage/snapshots',
      '/api/usage/bridge/status',
      '/api/realtime/stats',
      '/api/skills/metrics',
    ]) {
      const anonymous = await get(`${url}${path}`);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(((await anonymous.json()) as Problem).detail).toMatch(/needs a credential/);
      expect((await get(`${url}${path}`, { 'x-api-key': 'wrong-key-0123456789' })).status).toBe(
        401,
      );
      expect((await get(`${url}${path}`, { 'x-api-key': KEY })).status, path).toBe(200);
    }
    expect((await get(`${url}/api/events`, { authorization: `Bearer ${KEY}` })).status).toBe(200);
    const jwt = await signJwt({ sub: 'a' }, SECRET);
    const refused = await get(`${url}/api/events`, { authorization: `Bearer ${jwt}` });
    expect(((await refused.json()) as Problem).detail).toMatch(/API keys only/);
    // Probes stay open.
    expect((await get(`${url}/health/live`)).status).toBe(200);
    expect((await get(`${url}/health/ready`)).status).toBe(200);
  });

  it('stored hook payloads are not readable without a key', async () => {
    const { url } = state.app;
    const posted = await fetch(`${url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify({
        hook_event_name: 'UserPromptSubmit',
        session_id: 's',
        prompt: 'secret plan',
      }),
    });
    expect(posted.status).toBe(201);
    const anonymous = await get(`${url}/api/events`);
    expect(await anonymous.text()).not.toContain('secret plan');
  });

  it('Socket.IO refuses anonymous and bad-key clients; takes auth.api_key or ?api_key=', async () => {
    expect((await socket()).error).toBe('unauthorized: missing');
    expect((await socket({ api_key: 'wrong-key-0123456789' })).error).toBe(
      'unauthorized: bad_api_key',
    );
    const viaAuth = await socket({ api_key: KEY });
    expect(viaAuth.error).toBeUndefined();
    await viaAuth.client.next('initial');
    // An API key acts as admin: any project room.
    expect(await viaAuth.client.emitAck('subscribe', { room: 'project:anything' })).toMatchObject({
      status: 'success',
    });
    expect((await socket({}, `?api_key=${KEY}`)).error).toBeUndefined();
  });

  it('/stream refuses anonymous and bad-key clients; takes ?api_key= or a first auth frame', async () => {
    const { url } = state.app;
    await expect(openStream(url, '?api_key=wrong-key-0123456789')).rejects.toThrow('HTTP 401');
    const anonymous = await openStream(url);
    anonymous.send({ type: 'subscribe', room: 'global' });
    expect((await anonymous.closed).code).toBe(4401);
    expect(anonymous.frames.filter((f) => f.type === 'initial')).toHaveLength(0);

    const viaQuery = await openStream(url, `?api_key=${KEY}`);
    await viaQuery.next('initial');
    viaQuery.ws.terminate();
    const viaFrame = await openStream(url);
    viaFrame.send({ type: 'auth', api_key: KEY });
    await viaFrame.next('initial');
    viaFrame.ws.terminate();
    const badFrame = await openStream(url);
    badFrame.send({ type: 'auth', api_key: 'wrong-key-0123456789' });
    expect(await badFrame.closed).toMatchObject({
      code: 4401,
      reason: 'unauthorized: bad_api_key',
    });
  });
});

describe('JWT with issuer and audience, keys, METRICS_TOKEN and DOCS_ENABLED=false', () => {
  const { state, socket } = gatewayWith({
    AUTH_JWT_SECRET: SECRET,
    AUTH_JWT_ISSUER: 'https://idp.example',
    AUTH_JWT_AUDIENCE: 'usage-gateway',
    API_KEYS: KEY,
    METRICS_TOKEN: 'metrics-token-0123456789',
    DOCS_ENABLED: 'false',
  });
  const claims = { iss: 'https://idp.example', aud: 'usage-gateway' };

  it('refuses no, bad, expired and wrong-audience tokens on REST, Socket.IO and /stream', async () => {
    const { url } = state.app;
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string, string]> = [
      ['forged', await signJwt({ sub: 'a', ...claims }, 'x'.repeat(40)), 'bad_signature'],
      ['expired', await signJwt({ sub: 'a', ...claims, exp: now - 120 }, SECRET), 'expired'],
      [
        'wrong audience',
        await signJwt({ sub: 'a', ...claims, aud: 'another-service' }, SECRET),
        'wrong_audience',
      ],
      ['no exp', await signJwt({ sub: 'a', ...claims, exp: null }, SECRET), 'no_expiry'],
    ];
    for (const [what, token, reason] of cases) {
      const rest = await get(`${url}/api/events`, { authorization: `Bearer ${token}` });
      expect(rest.status, what).toBe(401);
      expect(((await rest.json()) as Problem).detail, what).toContain(reason);
      expect((await socket({ token })).error, what).toBe(`unauthorized: ${reason}`);
      await expect(openStream(url, `?token=${token}`), what).rejects.toThrow('HTTP 401');
    }
    const good = await signJwt({ sub: 'alice', ...claims }, SECRET);
    expect((await get(`${url}/api/events`, { authorization: `Bearer ${good}` })).status).toBe(200);
    expect((await socket({ token: good })).error).toBeUndefined();
    const stream = await openStream(url, `?token=${good}`);
    await stream.next('initial');
    stream.ws.terminate();
  });

  it('delivers nothing from a room the token does not grant', async () => {
    const { url } = state.app;
    const alice = await signJwt({ sub: 'alice', projects: ['shop'], ...claims }, SECRET);
    const { client } = await socket({ token: alice });
    await client.next('initial');
    expect(await client.emitAck('subscribe', { room: 'project:bank' })).toMatchObject({
      status: 'error',
      code: 'forbidden',
    });
    expect(await client.emitAck('subscribe', { room: 'user:bob' })).toMatchObject({
      status: 'error',
    });
    await client.emitAck('subscribe', { room: 'project:shop' });
    const publish = (room: string, name: string) =>
      fetch(`${url}/api/broadcasts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body: JSON.stringify({ event_type: `custom.${name}`, room, data: {} }),
      });
    expect((await publish('project:bank', 'secret')).status).toBe(201);
    expect((await publish('project:shop', 'sentinel')).status).toBe(201);
    await client.next('custom.sentinel');
    expect(client.received.some((r) => r.event === 'custom.secret')).toBe(false);
  });

  it('shows bridge stderr, paths and URLs to admins only', async () => {
    const { url } = state.app;
    const user = await signJwt({ sub: 'alice', ...claims }, SECRET);
    const summary = (await (
      await get(`${url}/api/usage/bridge/status`, { authorization: `Bearer ${user}` })
    ).json()) as { details: string; url: string | null };
    expect(summary.details).toBe('summary');
    const admin = await signJwt({ sub: 'root', role: 'admin', ...claims }, SECRET);
    const adminHeaders: Array<Record<string, string>> = [
      { authorization: `Bearer ${admin}` },
      { 'x-api-key': KEY },
    ];
    for (const headers of adminHeaders) {
      const full = (await (await get(`${url}/api/usage/bridge/status`, headers)).json()) as {
        details: string;
      };
      expect(full.details).toBe('full');
    }
  });

  it('/metrics needs its own bearer token; /docs is off', async () => {
    const { url } = state.app;
    expect((await get(`${url}/metrics`)).status).toBe(401);
    expect((await get(`${url}/metrics`, { 'x-api-key': KEY })).status).toBe(401);
    const scraped = await get(`${url}/metrics`, {
      authorization: 'Bearer metrics-token-0123456789',
    });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('# TYPE');
    expect((await get(`${url}/docs`)).status).toBe(404);
    expect((await get(`${url}/docs-json`)).status).toBe(404);
  });
});

describe('a failed bridge seen by a reader and by an admin', () => {
  const { state, socket } = gatewayWith({
    AUTH_JWT_SECRET: SECRET,
    API_KEYS: KEY,
    BRIDGE_MODE: 'spawn',
    BRIDGE_PORT: '0',
    BRIDGE_SCRIPT: '/srv/secret-place/usage_bridge.py',
  });

  it('shows stderr, troubleshooting, paths and URLs to admins only; sockets get public words', async () => {
    const { url } = state.app;
    const reader = await signJwt({ sub: 'alice' }, SECRET);
    const status = async (headers: Record<string, string>) =>
      (await (await get(`${url}/api/usage/bridge/status`, headers)).json()) as {
        details: string;
        url: string | null;
        process: {
          state: string;
          lastError: {
            type: string;
            message: string;
            troubleshooting: string[];
            stderr_tail: string[];
          } | null;
        };
      };
    await waitFor(
      async () => (await status({ 'x-api-key': KEY })).process.state === 'failed',
      15_000,
      'bridge failed',
    );
    const full = await status({ 'x-api-key': KEY });
    expect(full.process.lastError?.type).toBe('SCRIPT_NOT_FOUND');
    expect(full.process.lastError?.message).toContain('/srv/secret-place');
    expect(full.process.lastError?.troubleshooting.length).toBeGreaterThan(0);

    const summary = await status({ authorization: `Bearer ${reader}` });
    expect(summary).toMatchObject({
      details: 'summary',
      url: null,
      process: {
        lastError: {
          type: 'SCRIPT_NOT_FOUND',
          message: 'the usage bridge script was not found',
          troubleshooting: [],
          stderr_tail: [],
        },
      },
    });
    expect(JSON.stringify(summary)).not.toContain('/srv/secret-place');

    const { client } = await socket({ token: reader });
    const initial = await client.next('initial');
    expect(JSON.stringify(initial.message)).not.toContain('/srv/secret-place');
    expect(JSON.stringify(initial.message)).toContain('the usage bridge script was not found');
  });
});
