import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvField } from '../../src/usage/report-csv';
import { createSqliteDatabase, type TestDatabase } from '../support/databases';
import { startAppWithBridge, type RunningApp } from '../support/test-app';

/** Project folders a spreadsheet would run as formulas, and one it would not. */
const PROJECTS = ['-home-alice-proj', '=HYPERLINK("evil.example","x")', '+1+1', '@SUM(A1)', 'shop'];

function writeTree(claudeDir: string): void {
  PROJECTS.forEach((project, p) => {
    const folder = join(claudeDir, 'projects', project);
    mkdirSync(folder, { recursive: true });
    const line = JSON.stringify({
      type: 'assistant',
      sessionId: `s-${p}`,
      timestamp: new Date(Date.now() - 3_600_000).toISOString(),
      requestId: `req_${p}`,
      message: {
        id: `msg_${p}`,
        model: 'claude-sonnet-4-5-20250929',
        usage: { input_tokens: 100, output_tokens: 10 },
      },
    });
    writeFileSync(join(folder, `s-${p}.jsonl`), `${line}\n`);
  });
}

/** The cells of a CSV text as Python's csv module reads them (what a spreadsheet import sees). */
function readCsv(text: string): string[][] {
  return JSON.parse(
    execFileSync(
      'python3',
      ['-c', 'import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin))))'],
      { input: text },
    ).toString(),
  ) as string[][];
}

describe('CSV export cells (OWASP CSV injection)', () => {
  let dir: string;
  let db: TestDatabase;
  let app: RunningApp;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-csv-'));
    writeTree(join(dir, 'claude'));
    db = createSqliteDatabase();
    app = await startAppWithBridge(dir, db.env);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('neutralises every text cell that starts with = + - @ TAB or CR; JSON keeps the names as they are', async () => {
    const json = (await (await fetch(`${app.url}/api/usage/reports/sessions`)).json()) as {
      sessions: Array<{ project_path: string; session_id: string }>;
    };
    // A session's project path is its project folder (ccusage 20).
    expect(json.sessions.map((s) => s.project_path).sort()).toEqual([...PROJECTS].sort());
    const res = await fetch(`${app.url}/api/usage/reports/sessions?format=csv`);
    expect(res.status).toBe(200);
    const [header, ...rows] = readCsv(await res.text());
    const column = header.indexOf('project_path');
    const cells = rows.map((row) => row[column]).sort();
    expect(cells).toEqual(
      [
        "'-home-alice-proj",
        '\'=HYPERLINK("evil.example","x")',
        "'+1+1",
        "'@SUM(A1)",
        'shop',
      ].sort(),
    );
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('writes numbers as numbers and quotes what RFC 4180 asks', () => {
    expect(csvField(-1)).toBe('-1');
    expect(csvField('\tcmd')).toBe("'\tcmd");
    expect(csvField('\rcmd')).toBe('"\'\rcmd"');
    expect(csvField('=1,2')).toBe('"\'=1,2"');
    expect(csvField('a "b"')).toBe('"a ""b"""');
    expect(csvField(null)).toBe('');
  });
});
