import { isIP } from 'node:net';
import type { ValidationArguments } from 'class-validator';
import { propertyRule } from '../common/property-rule';

/**
 * The configuration's own rules, as class-validator decorators on `EnvSchema`: one schema checks
 * every variable, cross-field rules included. Messages never repeat a value (the error line shows
 * it, hidden for secrets).
 */

/** A comma list as the settings write it: items trimmed, blanks dropped. */
export function splitList(value: unknown): string[] {
  return (typeof value === 'string' ? value : '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1';
  return false;
}

const rule = (
  name: string,
  validate: (value: unknown, args: ValidationArguments) => boolean,
  message: (args: ValidationArguments) => string,
): PropertyDecorator => propertyRule(name, validate, message);

/** A URL with one of `protocols` (e.g. `postgres:`); unset passes (pair with `@IsOptional`). */
export function IsUrlOf(...protocols: string[]): PropertyDecorator {
  const parse = (value: unknown) => {
    try {
      return new URL(String(value));
    } catch {
      return undefined;
    }
  };
  return rule(
    'isUrlOf',
    (value) => protocols.includes(parse(value)?.protocol ?? ''),
    ({ value }) =>
      parse(value)
        ? `only ${protocols.map((p) => p.replace(':', '')).join('/')} URLs are accepted`
        : 'not a valid URL',
  );
}

/** URLs with one of `protocols`, comma-separated (unset passes; pair with `@IsOptional`). */
export function IsUrlList(...protocols: string[]): PropertyDecorator {
  const bad = (value: unknown) =>
    splitList(value).filter((item) => {
      try {
        return !protocols.includes(new URL(item).protocol);
      } catch {
        return true;
      }
    });
  return rule(
    'isUrlList',
    (value) => bad(value).length === 0,
    ({ value }) =>
      `${bad(value).length} item(s) not ${protocols.map((p) => p.replace(':', '')).join('/')} URLs`,
  );
}

/** Browser origins, comma-separated: scheme://host[:port], no path or trailing slash. */
export function IsOriginList(): PropertyDecorator {
  const bad = (value: unknown) =>
    splitList(value).filter((origin) => {
      try {
        const url = new URL(origin);
        return !['http:', 'https:'].includes(url.protocol) || url.origin !== origin;
      } catch {
        return true;
      }
    });
  return rule(
    'isOriginList',
    (value) => bad(value).length === 0,
    ({ value }) =>
      `${bad(value)
        .map((o) => JSON.stringify(o))
        .join(', ')} not an origin (scheme://host[:port], no path or trailing slash)`,
  );
}

/** Host names for ALLOWED_HOSTS: `name`, `.domain` (and its subdomains) or `*`. */
export function IsHostList(): PropertyDecorator {
  const NAME = /^(\*|\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/i;
  const bad = (value: unknown) => splitList(value).filter((host) => !NAME.test(host));
  return rule(
    'isHostList',
    (value) => bad(value).length === 0,
    ({ value }) =>
      `${bad(value)
        .map((h) => JSON.stringify(h))
        .join(', ')} not a host name (name, .domain for its subdomains, or *; no port or scheme)`,
  );
}

/** Secrets, comma-separated: each at least `minLength` characters, no whitespace inside. */
export function IsSecretList(minLength: number, what: string): PropertyDecorator {
  return rule(
    'isSecretList',
    (value) => splitList(value).every((item) => item.length >= minLength && !/\s/.test(item)),
    () => `${what} must be at least ${minLength} characters long, no spaces (each of a comma list)`,
  );
}

/** A number no smaller than another field's (skipped while that one is not a number itself). */
export function NotShorterThan(other: string): PropertyDecorator {
  const otherValue = (args: ValidationArguments) => (args.object as Record<string, unknown>)[other];
  return rule(
    'notShorterThan',
    (value, args) => {
      const min = otherValue(args);
      return typeof min !== 'number' || typeof value !== 'number' || value >= min;
    },
    (args) => `must not be shorter than ${other} (${String(otherValue(args))})`,
  );
}

/**
 * On HOST: a non-loopback address needs a credential (AUTH_JWT_SECRET or API_KEYS), or
 * ALLOW_INSECURE=true to accept an unauthenticated service on the network.
 */
export function NeedsCredentialOffLoopback(): PropertyDecorator {
  return rule(
    'needsCredentialOffLoopback',
    (value, { object }) => {
      const env = object as Record<string, unknown>;
      if (typeof value !== 'string' || isLoopbackHost(value) || env.ALLOW_INSECURE === true)
        return true;
      return splitList(env.AUTH_JWT_SECRET).length > 0 || splitList(env.API_KEYS).length > 0;
    },
    () =>
      'binding a non-loopback address needs AUTH_JWT_SECRET or API_KEYS ' +
      '(or ALLOW_INSECURE=true to accept an unauthenticated service on the network)',
  );
}
