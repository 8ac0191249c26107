import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from '../support/databases';
import { rawRequest } from '../support/raw-http';
import { startTestApp, type RunningApp } from '../support/test-app';

const KEY = 'host-check-key-0123456789';
const PROMPT = 'my secret prompt: the launch codes';
const REBINDING = 'evil.example';

/** What a DNS-rebinding page sends: its own name as Host, and its own origin. */
const rebinding = (port: string) => ({
  host: `${REBINDING}:${port}`,
  origin: `http://${REBINDING}:${port}`,
});

/** The status of a WebSocket upgrade to `path` with these headers (101 = accepted). */
function upgradeStatus(url: string, path: string, headers: Record<string, string>) {
  return new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}${path}`, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', (error) => (error.message.includes('Unexpected') ? undefined : reject(error)));
  });
}

function gateway(env: Record<string, string>) {
  const state = { app: undefined as unknown as RunningApp, port: '' };
  let db: TestDatabase;
  beforeAll(async () => {
    db = createSqliteDatabase();
    state.app = await startTestApp({ ...db.env, ...env });
    state.port = new URL(state.app.url).port;
    const stored = await rawRequest(`${state.app.url}/api/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(env.API_KEYS ? { 'x-api-key': KEY } : {}),
      },
      body: JSON.stringify({
        hook_event_name: 'UserPromptSubmit',
        session_id: 's1',
        prompt: PROMPT,
      }),
    });
    expect(stored.status).toBe(201);
  });
  afterAll(async () => {
    await state.app?.close();
    await db?.drop();
  });
  return state;
}

describe.each([
  ['the default install (loopback, no credentials)', {}],
  ['auth on (API_KEYS)', { API_KEYS: KEY }],
])('a foreign Host on %s', (_name, env: Record<string, string>) => {
  const state = gateway(env);
  const auth: Record<string, string> = env.API_KEYS ? { 'x-api-key': KEY } : {};

  it('is refused before routing on REST, the dashboard, docs and health — a rebinding page reads nothing', async () => {
    for (const path of ['/api/events', '/api/usage/config', '/', '/docs-json', '/health/ready']) {
      const res = await rawRequest(`${state.app.url}${path}`, {
        headers: { ...rebinding(state.port), ...auth },
      });
      expect(res.status, path).toBe(403);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ status: 403, title: 'Forbidden' });
      expect(res.body).not.toContain(PROMPT);
    }
    // The same reads by the loopback name and address are served.
    for (const host of [`127.0.0.1:${state.port}`, `localhost:${state.port}`]) {
      const res = await rawRequest(`${state.app.url}/api/events`, { headers: { host, ...auth } });
      expect(res.status, host).toBe(200);
      expect(res.body).toContain(PROMPT);
    }
  });

  it('refuses a settings change from a rebinding page, and the stored settings stay', async () => {
    const before = await rawRequest(`${state.app.url}/api/usage/config`, { headers: auth });
    const res = await rawRequest(`${state.app.url}/api/usage/config`, {
      method: 'POST',
      headers: { ...rebinding(state.port), 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ plan: 'max20' }),
    });
    expect(res.status).toBe(403);
    const after = await rawRequest(`${state.app.url}/api/usage/config`, { headers: auth });
    expect(after.json()).toEqual(before.json());
  });

  it('refuses both socket transports at the handshake', async () => {
    const query = env.API_KEYS ? `&api_key=${KEY}` : '';
    const polling = await rawRequest(
      `${state.app.url}/socket.io/?EIO=4&transport=polling${query}`,
      { headers: rebinding(state.port) },
    );
    expect(polling.status).toBe(403);
    // engine.io refuses a WebSocket handshake it does not allow with 400 (its own rule).
    expect(
      await upgradeStatus(
        state.app.url,
        `/socket.io/?EIO=4&transport=websocket${query}`,
        rebinding(state.port),
      ),
    ).toBe(400);
    expect(await upgradeStatus(state.app.url, `/stream?x=1${query}`, rebinding(state.port))).toBe(
      403,
    );
    // By loopback they connect.
    const ok = { host: `127.0.0.1:${state.port}` };
    expect(
      await upgradeStatus(state.app.url, `/socket.io/?EIO=4&transport=websocket${query}`, ok),
    ).toBe(101);
    expect(await upgradeStatus(state.app.url, `/stream?x=1${query}`, ok)).toBe(101);
  });

  it('refuses a state change from a foreign Origin to an allowed Host (CSRF), even with a valid key', async () => {
    const res = await rawRequest(`${state.app.url}/api/usage/config`, {
      method: 'POST',
      headers: {
        host: `127.0.0.1:${state.port}`,
        origin: 'http://evil.example',
        'content-type': 'application/json',
        ...auth,
      },
      body: JSON.stringify({ plan: 'max20' }),
    });
    expect(res.status).toBe(403);
    expect(res.json<{ detail: string }>().detail).toContain('CSRF');
    for (const origin of [`http://127.0.0.1:${state.port}`, 'http://localhost:3000']) {
      const ok = await rawRequest(`${state.app.url}/api/usage/config`, {
        method: 'POST',
        headers: {
          host: `127.0.0.1:${state.port}`,
          origin,
          'content-type': 'application/json',
          ...auth,
        },
        body: JSON.stringify({ theme: 'dark' }),
      });
      expect(ok.status, origin).toBe(200);
    }
    const sandboxed = await rawRequest(`${state.app.url}/api/events`, {
      method: 'POST',
      headers: { origin: 'null', 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ hook_event_name: 'Stop', session_id: 's2' }),
    });
    expect(sandboxed.status).toBe(403);
  });
});

describe('ALLOWED_HOSTS and the defaults', () => {
  const state = gateway({ ALLOWED_HOSTS: 'gateway.internal,.corp.example' });

  it('serves IP literals, the listed names and subdomains of a .domain entry; nothing else', async () => {
    const status = async (host: string) =>
      (await rawRequest(`${state.app.url}/health/live`, { headers: { host } })).status;
    expect(await status(`192.168.1.20:${state.port}`)).toBe(200);
    expect(await status(`[::1]:${state.port}`)).toBe(200);
    expect(await status('dev.localhost')).toBe(200);
    expect(await status('gateway.internal:3000')).toBe(200);
    expect(await status('team.corp.example')).toBe(200);
    expect(await status('corp.example')).toBe(200);
    expect(await status('corp.example.evil.test')).toBe(403);
    expect(await status('gateway.internal.evil.test')).toBe(403);
    expect(await status('localhost.evil.test')).toBe(403);
  });
});

describe('the usage bridge', () => {
  let child: ChildProcess;
  let url = '';
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-bridge-host-'));
    child = spawn(
      'python3',
      [
        join(__dirname, '..', '..', 'bridge', 'usage_bridge.py'),
        '--port',
        '0',
        '--data-dir',
        dir,
        '--state-dir',
        join(dir, 'state'),
        '--allowed-hosts',
        'bridge',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout! }).once('line', resolve),
    );
    url = /http:\/\/\S+/.exec(line)![0];
  });
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 403 to a foreign Host, its own names and addresses as before', async () => {
    const port = new URL(url).port;
    for (const path of ['/health', '/usage/config', '/usage/stats']) {
      const res = await rawRequest(`${url}${path}`, { headers: { host: `${REBINDING}:${port}` } });
      expect(res.status, path).toBe(403);
    }
    const posted = await rawRequest(`${url}/usage/config`, {
      method: 'POST',
      headers: { host: `${REBINDING}:${port}`, 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'max20' }),
    });
    expect(posted.status).toBe(403);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `bridge:${port}`])
      expect((await rawRequest(`${url}/health`, { headers: { host } })).status, host).toBe(200);
  });
});
