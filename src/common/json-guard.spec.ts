import { describe, expect, it } from 'vitest';
import { ValidationFailedError } from './app-error';
import {
  checkMessage,
  jsonTextDepth,
  MAX_JSON_DEPTH,
  parseJsonBody,
  unstorablePlaces,
} from './json-guard';

const refusal = (body: string | Buffer) => {
  try {
    parseJsonBody(body);
  } catch (error) {
    return (error as ValidationFailedError).fieldErrors;
  }
  return undefined;
};

describe('the JSON guard', () => {
  it('measures depth from the text without parsing, strings and escapes skipped', () => {
    expect(jsonTextDepth('{"a":[1,{"b":"[[[{{{"}]}')).toBe(3);
    expect(jsonTextDepth('"\\\\"')).toBe(0);
    expect(jsonTextDepth('{"a":"\\"{"}')).toBe(1);
    expect(jsonTextDepth('['.repeat(200_000), 64)).toBe(65);
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses one more, before parsing`, () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(refusal(nest(MAX_JSON_DEPTH))).toBeUndefined();
    expect(refusal(nest(MAX_JSON_DEPTH + 1))).toEqual([
      { field: 'body', message: `the body nests deeper than ${MAX_JSON_DEPTH} levels` },
    ]);
  });

  it('refuses bytes that are not UTF-8, an empty body and text that is not JSON', () => {
    expect(refusal(Buffer.from([0x7b, 0xff, 0x7d]))).toEqual([
      { field: 'body', message: 'the body is not valid UTF-8' },
    ]);
    expect(refusal('')?.[0].message).toMatch(/empty/);
    expect(refusal('{"a":')?.[0].message).toMatch(/not valid JSON/);
  });

  it('names every place that could not be stored as sent, in document order', () => {
    expect(
      unstorablePlaces(JSON.parse('{"a":[1,1e999],"b":{"c":"\\ud800"},"d":"x\\u0000"}')),
    ).toEqual([
      { field: 'a[1]', message: expect.stringContaining('too large') },
      { field: 'b.c', message: expect.stringContaining('surrogate') },
      { field: 'd', message: expect.stringContaining('NUL') },
    ]);
    expect(unstorablePlaces({ ok: '😀', n: 1e308 })).toEqual([]);
    const many = Array.from({ length: 30 }, () => Infinity);
    const places = unstorablePlaces(many);
    expect(places).toHaveLength(21);
    expect(places.at(-1)).toEqual({ field: 'body', message: '10 more places like these' });
  });

  it('refuses the prototype keys wherever they are, as Fastify’s own parser does', () => {
    expect(refusal('{"__proto__":{"admin":true}}')).toEqual([
      { field: '__proto__', message: expect.stringContaining('"__proto__" is refused') },
    ]);
    expect(
      refusal('{"a":[{"constructor":{"prototype":{"x":1}}}],"b":{"c":{"__proto__":null}}}'),
    ).toEqual([
      { field: 'a[0].constructor', message: expect.stringContaining('"constructor" object') },
      { field: 'b.c.__proto__', message: expect.stringContaining('"__proto__"') },
    ]);
    // Not prototype keys: a `constructor` without `prototype`, `prototype` alone, a value.
    expect(
      refusal(
        '{"constructor":"x","c":{"constructor":{"name":"A"}},"prototype":{},"v":"__proto__"}',
      ),
    ).toBeUndefined();
    // Nothing of the object was changed by reading it.
    expect(Object.getPrototypeOf(JSON.parse('{"__proto__":{"x":1}}'))).toBe(Object.prototype);
    expect(checkMessage(JSON.parse('{"room":"global","__proto__":{}}'))).toEqual([
      { field: '__proto__', message: expect.any(String) },
    ]);
  });

  it('checks a socket message the same way (depth first)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(checkMessage(deep)).toEqual([
      { field: 'message', message: `the message nests deeper than ${MAX_JSON_DEPTH} levels` },
    ]);
    expect(checkMessage({ room: 'global' })).toEqual([]);
  });
});
