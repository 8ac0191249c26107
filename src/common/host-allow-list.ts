import { isIP } from 'node:net';

/** Names that always mean this machine (RFC 6761 reserves `localhost` and `*.localhost`). */
const LOOPBACK_NAMES = ['localhost'];
/** Bind addresses that mean "every interface": not a name a browser can use. */
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]']);

/** The host name of a `Host` header value (`name`, `name:port`, `[v6]:port`), lower case. */
export function hostNameOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  let host = header.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return undefined;
    host = host.slice(1, end);
  } else {
    const colon = host.indexOf(':');
    // One colon: name:port. More than one without brackets is not a valid Host.
    if (colon >= 0) {
      if (host.indexOf(':', colon + 1) >= 0) return undefined;
      host = host.slice(0, colon);
    }
  }
  // `localhost.` is `localhost`: the root label is implied.
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host === '' ? undefined : host;
}

/**
 * The `Host` allow-list of every entry point (ALLOWED_HOSTS, docs/design.md §3) against DNS
 * rebinding: a page on `evil.example` whose name is made to resolve to 127.0.0.1 reaches us
 * with `Host: evil.example`, and the browser treats it as same-origin. Allowed:
 * - any IP address literal (a rebinding page always uses a name; a browser on `http://1.2.3.4`
 *   talks to 1.2.3.4, so an IP in Host is safe — the rule Vite's `server.allowedHosts` uses),
 * - `localhost` and `*.localhost`, the bind address when it is a name, the hosts of CORS_ORIGINS,
 * - ALLOWED_HOSTS entries: a name, `.example.com` for that name and its subdomains, or `*`
 *   (any: for a reverse proxy that checks Host itself).
 */
export class HostAllowList {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];
  readonly anyHost: boolean;

  constructor(options: {
    readonly allowedHosts: readonly string[];
    readonly bindHost: string;
    readonly corsOrigins: readonly string[];
  }) {
    for (const name of LOOPBACK_NAMES) this.exact.add(name);
    this.suffixes.push('.localhost');
    if (!WILDCARD_BINDS.has(options.bindHost)) this.addName(options.bindHost);
    for (const origin of options.corsOrigins) {
      try {
        this.addName(new URL(origin).hostname);
      } catch {
        // CORS_ORIGINS is validated at boot; nothing to add from a value that is not a URL.
      }
    }
    let anyHost = false;
    for (const entry of options.allowedHosts) {
      const value = entry.trim().toLowerCase();
      if (value === '*') anyHost = true;
      else if (value.startsWith('.')) {
        this.suffixes.push(value);
        this.exact.add(value.slice(1));
      } else this.addName(value);
    }
    this.anyHost = anyHost;
  }

  static forServer(server: {
    readonly allowedHosts: readonly string[];
    readonly host: string;
    readonly corsOrigins: readonly string[];
  }): HostAllowList {
    return new HostAllowList({
      allowedHosts: server.allowedHosts,
      bindHost: server.host,
      corsOrigins: server.corsOrigins,
    });
  }

  /** Whether a request with this `Host` header may be served. */
  allows(hostHeader: string | undefined): boolean {
    if (this.anyHost) return true;
    const name = hostNameOf(hostHeader);
    if (name === undefined) return false;
    if (isIP(name) !== 0) return true;
    if (this.exact.has(name)) return true;
    return this.suffixes.some((suffix) => name.endsWith(suffix));
  }

  private addName(host: string): void {
    const name = hostNameOf(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);
    if (name) this.exact.add(name);
  }
}

/**
 * Whether a state-changing browser request comes from a page we serve (CSRF): no `Origin` and no
 * cross-site `Sec-Fetch-Site` (not a browser, or a same-origin navigation), the gateway's own
 * origin (the Host the request came to, already allowed), or one of CORS_ORIGINS. `Origin: null`
 * (a sandboxed frame, a `data:` page) is foreign.
 */
export function originAllowedFor(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  corsOrigins: ReadonlySet<string>,
): boolean {
  const origin = headers.origin;
  if (typeof origin !== 'string') {
    const site = headers['sec-fetch-site'];
    return site !== 'cross-site' && site !== 'same-site';
  }
  if (corsOrigins.has(origin)) return true;
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === headers.host;
  } catch {
    return false;
  }
}
