import { describe, expect, it } from 'vitest';
import { HostAllowList, hostNameOf, originAllowedFor } from './host-allow-list';

describe('HostAllowList', () => {
  const defaults = HostAllowList.forServer({
    allowedHosts: [],
    host: '127.0.0.1',
    corsOrigins: ['http://dash.example:8080'],
  });

  it('reads a Host header: name, name:port, [v6]:port, a trailing dot, any case', () => {
    expect(hostNameOf('Example.COM:3000')).toBe('example.com');
    expect(hostNameOf('[::1]:3000')).toBe('::1');
    expect(hostNameOf('localhost.')).toBe('localhost');
    expect(hostNameOf('a:b:c')).toBeUndefined();
    expect(hostNameOf('')).toBeUndefined();
    expect(hostNameOf(undefined)).toBeUndefined();
  });

  it('serves IP literals, localhost and *.localhost and the hosts of CORS_ORIGINS by default', () => {
    for (const host of [
      '127.0.0.1:3000',
      '10.1.2.3',
      '[::1]:3000',
      'localhost:3000',
      'app.localhost',
      'dash.example',
    ])
      expect(defaults.allows(host), host).toBe(true);
    for (const host of [
      'evil.example:3000',
      'localhost.evil.example',
      'dash.example.evil',
      undefined,
      '',
    ])
      expect(defaults.allows(host), String(host)).toBe(false);
  });

  it('adds names, .domain for a domain and its subdomains, * for any; a named bind address', () => {
    const list = HostAllowList.forServer({
      allowedHosts: ['gateway.lan', '.corp.example'],
      host: 'box.internal',
      corsOrigins: [],
    });
    expect(list.allows('gateway.lan:3000')).toBe(true);
    expect(list.allows('corp.example')).toBe(true);
    expect(list.allows('a.b.corp.example')).toBe(true);
    expect(list.allows('box.internal:3000')).toBe(true);
    expect(list.allows('xcorp.example')).toBe(false);
    const any = HostAllowList.forServer({ allowedHosts: ['*'], host: '0.0.0.0', corsOrigins: [] });
    expect(any.allows('whatever.example')).toBe(true);
  });

  it('takes a state change from no Origin, its own origin or CORS_ORIGINS only', () => {
    const origins = new Set(['http://dash.example:8080']);
    expect(originAllowedFor({ host: '127.0.0.1:3000' }, origins)).toBe(true);
    expect(
      originAllowedFor({ host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000' }, origins),
    ).toBe(true);
    expect(originAllowedFor({ host: 'x', origin: 'http://dash.example:8080' }, origins)).toBe(true);
    expect(
      originAllowedFor({ host: '127.0.0.1:3000', origin: 'http://evil.example' }, origins),
    ).toBe(false);
    expect(originAllowedFor({ host: '127.0.0.1:3000', origin: 'null' }, origins)).toBe(false);
    expect(
      originAllowedFor({ host: '127.0.0.1:3000', 'sec-fetch-site': 'cross-site' }, origins),
    ).toBe(false);
  });
});
