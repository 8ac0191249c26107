import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

interface Connection {
  url: string;
  token?: string;
  apiKey?: string;
  from?: string;
}
// Where the hooks find their gateway: a CommonJS module of the dependency-free hook (bin/).
const connection = createRequire(__filename)('../bin/gateway-connection.js') as {
  resolveConnection: (env: Record<string, string>) => Connection;
  writeKept: (env: Record<string, string>, kept: { url: string; token?: string }) => string;
  normalizeUrl: (text: string) => string;
};

/** The same rules in bridge/usage_push.py (the push runs in python3). */
function pythonResolves(env: Record<string, string>, state: string) {
  const script = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(join(__dirname, '..', 'bridge'))})`,
    'import usage_push',
    `a = usage_push.parse_args(["--state-dir", ${JSON.stringify(state)}])`,
    'print(json.dumps({"url": a.url, "token": a.token or None, "apiKey": a.api_key or None}))',
  ].join('\n');
  const out = execFileSync('python3', ['-c', script], {
    env: { PATH: process.env.PATH ?? '', HOME: state, ...env },
    encoding: 'utf8',
  });
  const parsed = JSON.parse(out) as Record<string, string | null>;
  return Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== null));
}

describe('where the hooks find their gateway', () => {
  const dirs: string[] = [];
  const state = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ug-conn-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('the environment wins; else what install kept; its token goes only to its own URL', () => {
    const dir = state();
    const base = { USAGE_GATEWAY_SPOOL_DIR: dir };
    const { resolveConnection, writeKept } = connection;
    expect(resolveConnection(base)).toEqual({ url: 'http://127.0.0.1:3000' });
    expect(pythonResolves(base, dir)).toEqual({ url: 'http://127.0.0.1:3000' });

    const file = writeKept(base, { url: 'https://team.example', token: 'ugm_kept' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const cases: Array<[Record<string, string>, Connection]> = [
      [{}, { url: 'https://team.example', token: 'ugm_kept', from: file }],
      // Another gateway named by the environment: the kept token is not sent there.
      [{ USAGE_GATEWAY_URL: 'http://other:3000' }, { url: 'http://other:3000' }],
      [
        { USAGE_GATEWAY_URL: 'https://team.example/' },
        { url: 'https://team.example', token: 'ugm_kept', from: file },
      ],
      [
        { USAGE_GATEWAY_TOKEN: 'ugm_env' },
        { url: 'https://team.example', token: 'ugm_env', from: 'environment' },
      ],
      [
        { USAGE_GATEWAY_API_KEY: 'key' },
        { url: 'https://team.example', apiKey: 'key', from: 'environment' },
      ],
    ];
    for (const [env, expected] of cases) {
      const resolved = resolveConnection({ ...base, ...env });
      expect(
        Object.fromEntries(Object.entries(resolved).filter(([, v]) => v !== undefined)),
        JSON.stringify(env),
      ).toEqual(expected);
      const { from: _from, ...python } = expected;
      expect(pythonResolves({ ...base, ...env }, dir), JSON.stringify(env)).toEqual(python);
    }
  });

  it('keeps a URL only as http(s), without credentials, query or a trailing slash', () => {
    const { normalizeUrl } = connection;
    expect(normalizeUrl(' https://team.example/gw/ ')).toBe('https://team.example/gw');
    expect(normalizeUrl('http://127.0.0.1:3000')).toBe('http://127.0.0.1:3000');
    expect(() => normalizeUrl('file:///etc/passwd')).toThrow(/http/);
    expect(() => normalizeUrl('https://a:b@team.example')).toThrow(/credentials/);
    expect(() => normalizeUrl('https://team.example/?x=1')).toThrow(/query/);
    expect(() => normalizeUrl('team.example')).toThrow(/not a URL/);
  });
});
