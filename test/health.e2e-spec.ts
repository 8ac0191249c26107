import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { startTestApp, type RunningApp } from './support/test-app';

describe.each(databaseKinds())('service foundation on %s', (kind) => {
  let db: TestDatabase;
  let running: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    running = await startTestApp(db.env);
  });
  afterAll(async () => {
    await running?.close();
    await db?.drop();
  });

  it('answers liveness and readiness with 200', async () => {
    const live = await fetch(`${running.url}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: 'ok' });

    const ready = await fetch(`${running.url}/health/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { details: Record<string, { status: string }> };
    expect(body.details.database.status).toBe('up');
    expect(body.details.disk.status).toBe('up');
    expect(body.details.memory_heap.status).toBe('up');
    // Readiness is what serving needs; the optional parts are on /health only.
    expect(Object.keys(body.details).sort()).toEqual(['database', 'disk', 'memory_heap']);
  });

  it('reports every check on /health', async () => {
    const res = await fetch(`${running.url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { details: Record<string, unknown> };
    expect(Object.keys(body.details)).toEqual(
      expect.arrayContaining(['database', 'disk', 'memory_heap', 'redis', 'bridge']),
    );
  });

  it('serves the Swagger UI and the OpenAPI document', async () => {
    const ui = await fetch(`${running.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');

    const spec = await fetch(`${running.url}/docs-json`);
    expect(spec.status).toBe(200);
    const doc = (await spec.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/health', '/health/live', '/health/ready']),
    );
  });

  it('echoes a well-formed X-Request-Id and generates one otherwise', async () => {
    const echoed = await fetch(`${running.url}/health/live`, {
      headers: { 'x-request-id': 'abc-123.def' },
    });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123.def');

    const generated = await fetch(`${running.url}/health/live`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    // A forged id (spaces, control characters, too long) is replaced, not logged verbatim.
    const forged = await fetch(`${running.url}/health/live`, {
      headers: { 'x-request-id': `bad id ${'x'.repeat(200)}` },
    });
    expect(forged.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route with RFC 9457 problem details', async () => {
    const res = await fetch(`${running.url}/api/nothing-here?x=1`, {
      headers: { 'x-request-id': 'req-404' },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'Cannot GET /api/nothing-here?x=1',
      instance: '/api/nothing-here',
      request_id: 'req-404',
    });
  });

  it('sends security headers and honours the CORS allow-list', async () => {
    const allowed = await fetch(`${running.url}/health/live`, {
      headers: { origin: 'http://localhost:3000' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(allowed.headers.get('x-content-type-options')).toBe('nosniff');
    expect(allowed.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(allowed.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(allowed.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    // Error answers carry them too.
    const missing = await fetch(`${running.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
    expect(missing.headers.get('content-security-policy')).toContain("default-src 'self'");

    const refused = await fetch(`${running.url}/health/live`, {
      headers: { origin: 'http://evil.example' },
    });
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('readiness with BRIDGE_REQUIRED=true', () => {
  let db: TestDatabase;
  let running: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    // Nothing listens on port 9: the bridge is unreachable from the start.
    running = await startTestApp({
      ...db.env,
      BRIDGE_MODE: 'external',
      USAGE_BRIDGE_URL: 'http://127.0.0.1:9',
      BRIDGE_REQUIRED: 'true',
    });
  });
  afterAll(async () => {
    await running?.close();
    await db?.drop();
  });

  it('fails readiness, and /health, while the required bridge is down', async () => {
    for (const path of ['/health/ready', '/health']) {
      const res = await fetch(`${running.url}${path}`);
      expect(res.status, path).toBe(503);
      const problem = (await res.json()) as { checks: Record<string, { status: string }> };
      // The public probe says up or down; /health (an admin here: auth is off) has the details.
      expect(problem.checks.bridge, path).toEqual(
        path === '/health'
          ? expect.objectContaining({ status: 'down', reachable: false })
          : { status: 'down' },
      );
      expect(problem.checks.database.status, path).toBe('up');
    }
    expect((await fetch(`${running.url}/health/live`)).status).toBe(200);
  });
});
