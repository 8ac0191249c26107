import { isUtf8 } from 'node:buffer';
import type { FieldError } from './problem-details';
import { ValidationFailedError } from './app-error';

/**
 * How deeply a JSON body or socket message may nest (objects and arrays). Claude Code's hook
 * payloads nest a few levels; 64 leaves room for any tool input and stops a hostile document
 * long before a recursive validator or serializer could overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;
/** At most this many bad places are listed in one answer (the count says how many in all). */
const MAX_LISTED = 20;

/**
 * The nesting depth of a JSON text, read once without parsing it (strings skipped, escapes
 * honoured); stops counting past `limit`. Linear and iterative: a text 10,000 levels deep costs
 * what its length costs.
 */
export function jsonTextDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Depth of a parsed value, iteratively (a hostile value must not blow the stack). */
export function valueDepth(root: unknown, limit = Number.POSITIVE_INFINITY): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) max = depth;
    if (max > limit) return max;
    for (const child of Array.isArray(value) ? value : Object.values(value))
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return max;
}

/** With the `u` flag a surrogate pair is one code point; only a lone half matches. */
const LONE_SURROGATE = /\p{Cs}/u;

const pathOf = (parent: string, key: string | number) =>
  typeof key === 'number' ? `${parent}[${key}]` : parent ? `${parent}.${key}` : key;

/**
 * The places of a parsed JSON value that could not be stored as sent: a number JSON.parse turned
 * into ±Infinity (`1e309`), a string or key with a lone UTF-16 surrogate (`"\ud800"`: not
 * Unicode, refused by PostgreSQL's jsonb) or a NUL character (PostgreSQL text cannot hold one) —
 * and the prototype keys: a `__proto__` key, or a `constructor` object holding `prototype`
 * (Fastify's own parser refuses both; once merged or assigned they change every object's
 * prototype). Iterative; call it on a value whose depth is already bounded.
 */
export function unstorablePlaces(root: unknown, prefix = 'body'): FieldError[] {
  const errors: FieldError[] = [];
  let found = 0;
  const note = (path: string, message: string) => {
    found++;
    if (errors.length < MAX_LISTED) errors.push({ field: path, message });
  };
  const checkString = (value: string, path: string, what: string) => {
    if (LONE_SURROGATE.test(value))
      note(path, `${what} holds a lone UTF-16 surrogate (not Unicode)`);
    else if (value.includes('\u0000')) note(path, `${what} holds a NUL character`);
  };
  const stack: Array<[unknown, string]> = [[root, prefix]];
  while (stack.length) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'number') {
      if (!Number.isFinite(value))
        note(path, 'a number too large to store exactly (it would become Infinity or null)');
    } else if (typeof value === 'string') checkString(value, path, 'the string');
    else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], pathOf(path, i)]);
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value);
      // Pushed last to first, so places are listed in the document's order.
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i];
        const childPath = pathOf(path === prefix ? '' : path, key);
        checkString(key, childPath, 'the key');
        const prototypeKey = prototypeKeyProblem(key, child);
        if (prototypeKey) note(childPath, prototypeKey);
        stack.push([child, childPath]);
      }
    }
  }
  if (found > errors.length)
    errors.push({ field: prefix, message: `${found - errors.length} more places like these` });
  return errors;
}

/** Why a key is a prototype key (see unstorablePlaces), or undefined. */
function prototypeKeyProblem(key: string, value: unknown): string | undefined {
  if (key === '__proto__') return 'the key "__proto__" is refused (it would set a prototype)';
  if (
    key === 'constructor' &&
    typeof value === 'object' &&
    value !== null &&
    Object.hasOwn(value, 'prototype')
  )
    return 'a "constructor" object holding "prototype" is refused (it would set a prototype)';
  return undefined;
}

const refused = (message: string, field = 'body') =>
  new ValidationFailedError([{ field, message }]);

/**
 * The one JSON body parser of the API (docs/design.md §4), run before any validation: the bytes must
 * be UTF-8 (never decoded with replacement characters), the text nests at most MAX_JSON_DEPTH
 * levels (checked before parsing), and the parsed value holds nothing that would be stored as
 * something else. Each refusal is a 400 problem naming the places.
 */
export function parseJsonBody(body: Buffer | string): unknown {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (bytes.length === 0) throw refused('the body is empty; send a JSON document');
  if (!isUtf8(bytes)) throw refused('the body is not valid UTF-8');
  const text = bytes.toString('utf8');
  if (jsonTextDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    throw refused(`the body nests deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw refused(`the body is not valid JSON (${(error as Error).message})`);
  }
  const places = unstorablePlaces(value);
  if (places.length) throw new ValidationFailedError(places);
  return value;
}

/**
 * The same guard for a socket message already parsed by its transport: depth first (before any
 * validation walks it), then what could not be stored or echoed as sent.
 */
export function checkMessage(value: unknown): FieldError[] {
  if (valueDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    return [
      { field: 'message', message: `the message nests deeper than ${MAX_JSON_DEPTH} levels` },
    ];
  return unstorablePlaces(value, 'message');
}
