import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { createMembers } from './support/members';
import { startTestApp, type RunningApp } from './support/test-app';
import { writeUsageLog } from './support/usage-logs';
import { waitFor } from './support/wait';

const KEY = 'hook-connection-admin-key-0123456789';
const HOOK = join(__dirname, '..', 'bin', 'usage-gateway-hook');

/** The environment of a Claude Code started from an IDE or a desktop launcher: no shell variables. */
const launcherEnv = (home: string) => ({ PATH: process.env.PATH ?? '', HOME: home });

function run(home: string, args: string[], input?: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [HOOK, ...args], {
    env: { ...launcherEnv(home), ...env },
    input,
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the hook as Claude Code does: the hook JSON on stdin, waits for it to exit. */
function hook(home: string, payload: object) {
  const child = spawn(process.execPath, [HOOK], {
    env: launcherEnv(home),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stdin.end(JSON.stringify(payload));
  return new Promise<{ code: number | null; stdout: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout })),
  );
}

/**
 * `install --push --url … --token-stdin` keeps the gateway's address and the member's token in the
 * state folder (0600), so a Claude Code started without the shell's USAGE_GATEWAY_* variables still
 * reaches the team gateway: the Stop hook's event and the session's new usage lines arrive.
 */
describe('the hooks find their gateway without the shell’s variables (install --url)', () => {
  let db: TestDatabase;
  let app: RunningApp;
  let tokens: Record<string, string>;
  const homes: string[] = [];
  const home = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ug-ide-'));
    homes.push(dir);
    return dir;
  };
  const admin = async <T>(path: string) => {
    const res = await fetch(`${app.url}${path}`, { headers: { 'x-api-key': KEY } });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp({ ...db.env, API_KEYS: KEY });
    tokens = await createMembers(app.url, KEY, ['alice']);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    for (const dir of homes) rmSync(dir, { recursive: true, force: true });
  });

  it('an IDE-launched Claude Code’s Stop hook sends its event and pushes the session’s new lines', async () => {
    const dir = home();
    const installed = run(
      dir,
      ['install', '--push', '--url', `${app.url}/`, '--token-stdin'],
      `${tokens.alice}\n`,
    );
    expect(installed.code, installed.stderr).toBe(0);
    const kept = join(dir, '.usage-gateway', 'gateway.json');
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, '.usage-gateway')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(kept, 'utf8'))).toEqual({ url: app.url, token: tokens.alice });
    expect(installed.stdout).toContain('keeps the gateway');
    expect(installed.stdout).not.toContain(tokens.alice);

    // Claude Code writes the session after install (new lines are those since install --push).
    const transcript = writeUsageLog(join(dir, '.claude'), {
      start: Date.now() + 1000,
      count: 3,
      everyMs: 1000,
      usage: (i) => ({ input_tokens: 100 + i, output_tokens: 10 }),
    });
    const stop = await hook(dir, {
      hook_event_name: 'Stop',
      session_id: 's-1',
      transcript_path: transcript,
      cwd: dir,
    });
    expect(stop).toEqual({ code: 0, stdout: '' });

    const events = await admin<{ events: Array<{ hook_event_type: string; session_id: string }> }>(
      '/api/events?limit=10',
    );
    expect(events.events.map((e) => [e.hook_event_type, e.session_id])).toEqual([['Stop', 's-1']]);
    // The push runs in the background after the hook returns: wait for alice's three lines.
    const daily = await waitFor(
      async () => {
        const report = await admin<{
          daily: Array<{ input_tokens: number; output_tokens: number }>;
        }>('/api/team/usage/reports/daily?member=alice&timezone=UTC');
        return report.daily.length ? report.daily : undefined;
      },
      30_000,
      'alice’s pushed lines',
    );
    expect(daily.reduce((sum, row) => sum + row.input_tokens, 0)).toBe(100 + 101 + 102);
    expect(daily.reduce((sum, row) => sum + row.output_tokens, 0)).toBe(30);
    expect(existsSync(join(dir, '.usage-gateway', 'spool.jsonl'))).toBe(false);

    const removed = run(dir, ['uninstall']);
    expect(removed.code).toBe(0);
    expect(existsSync(kept)).toBe(false);
    expect(existsSync(join(dir, '.usage-gateway', 'push.json'))).toBe(false);
  });

  it('takes the token from a file, never from the command line, and refuses what cannot work', () => {
    const dir = home();
    const file = join(dir, 'token.txt');
    writeFileSync(file, `  ${tokens.alice}  \n`);
    expect(run(dir, ['install', '--url', app.url, '--token-file', file]).code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, '.usage-gateway', 'gateway.json'), 'utf8'))).toEqual({
      url: app.url,
      token: tokens.alice,
    });

    const refusals: Array<[string[], string | undefined, RegExp]> = [
      [['install', '--url', app.url, '--token', tokens.alice], undefined, /--token-stdin/],
      [['install', '--token-stdin'], 'ugm_x', /go with --url/],
      [['install', '--url', 'ftp://example.com'], undefined, /http:\/\/ or https:\/\//],
      [['install', '--url', 'http://me:pw@example.com'], undefined, /must not hold credentials/],
      [['install', '--url', app.url, '--token-stdin'], 'two words', /spaces/],
      [['install', '--url', app.url, '--token-stdin'], '\n', /empty/],
      [['install', '--url', app.url, '--token-file', join(dir, 'none')], undefined, /ENOENT/],
    ];
    for (const [args, input, message] of refusals) {
      const refused = run(dir, args, input);
      expect(refused.code, args.join(' ')).toBe(1);
      expect(refused.stderr).toMatch(message);
    }
    // Nothing refused changed what was kept.
    expect(JSON.parse(readFileSync(join(dir, '.usage-gateway', 'gateway.json'), 'utf8'))).toEqual({
      url: app.url,
      token: tokens.alice,
    });
  });
});
