import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { startTestApp, type RunningApp } from './support/test-app';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

describe('the OpenAPI document', () => {
  let db: TestDatabase;
  let running: RunningApp;
  let dir: string;

  beforeAll(async () => {
    db = createSqliteDatabase();
    running = await startTestApp(db.env);
    dir = mkdtempSync(join(tmpdir(), 'ug-openapi-'));
  });
  afterAll(async () => {
    await running?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lints clean with @redocly/cli (recommended rules)', async () => {
    const spec = await (await fetch(`${running.url}/docs-json`)).text();
    const file = join(dir, 'openapi.json');
    writeFileSync(file, spec);
    const result = await run(
      join(ROOT, 'node_modules', '.bin', 'redocly'),
      ['lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'stylish'],
      {
        cwd: ROOT,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    ).catch((error: { stdout: string; stderr: string }) => error);
    const output = `${result.stdout}\n${result.stderr}`;
    expect(output).toMatch(/Your API description is valid/);
    expect(output).toMatch(/validated in/);
    expect(output).not.toMatch(/\d+:\d+\s+(error|warning)\s/);
  }, 60_000);

  it('documents problem details as the error body of every operation', async () => {
    const doc = (await (await fetch(`${running.url}/docs-json`)).json()) as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.components.schemas.ProblemDetails).toBeDefined();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const errors = Object.entries(operation.responses).filter(([code]) => /^[45]/.test(code));
        expect(errors.length, `${method.toUpperCase()} ${path}`).toBeGreaterThan(0);
        for (const [, response] of errors) {
          expect(Object.keys(response.content ?? {})).toContain('application/problem+json');
        }
      }
    }
  });

  it('documents the limits the API enforces: a budget above $0, a push body of ≤ 1000 entries', async () => {
    const doc = (await (await fetch(`${running.url}/docs-json`)).json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { $ref?: string } }> } }>
      >;
      components: {
        schemas: Record<string, { properties: Record<string, Record<string, unknown>> }>;
      };
    };
    const usd = doc.components.schemas.CreateBudgetDto.properties.usd;
    expect(usd).toMatchObject({ minimum: 0, exclusiveMinimum: true });
    const push = doc.paths['/api/usage/entries'].post.requestBody?.content['application/json'];
    expect(push?.schema.$ref).toBe('#/components/schemas/PushEntriesDto');
    // (At least one entry, unless the push carries only Codex's official windows.)
    expect(doc.components.schemas.PushEntriesDto.properties.entries).toMatchObject({
      maxItems: 1000,
      minItems: 0,
    });
  });
});
