import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config';
import { JwtVerifier, signJwt, TokenRejectedError } from './jwt-verifier';

const SECRET = 'unit-test-secret-that-is-long-enough!';
const verifier = new JwtVerifier(loadConfig({ AUTH_JWT_SECRET: SECRET }));
const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as TokenRejectedError).reason;
  }
  return 'accepted';
};

describe('JwtVerifier', () => {
  const now = 1_800_000_000_000;
  it('accepts a valid HS256 token and reads sub, projects and role', () => {
    const token = signJwt(
      { sub: 'alice', projects: ['shop'], role: 'admin', exp: now / 1000 + 60 },
      SECRET,
    );
    expect(verifier.verify(token, now)).toEqual({
      sub: 'alice',
      projects: ['shop'],
      role: 'admin',
      exp: now / 1000 + 60,
    });
  });

  it('refuses missing, malformed, forged, alg-swapped, expired, early and subject-less tokens', () => {
    expect(reason(() => verifier.verify(undefined, now))).toBe('missing');
    expect(reason(() => verifier.verify('a.b', now))).toBe('malformed');
    expect(reason(() => verifier.verify('!!.??.**', now))).toBe('malformed');
    expect(
      reason(() =>
        verifier.verify(signJwt({ sub: 'a' }, 'other-secret-other-secret-other-secret'), now),
      ),
    ).toBe('bad_signature');
    const head = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'a' })).toString('base64url');
    expect(reason(() => verifier.verify(`${head}.${body}.`, now))).toBe('malformed');
    const hs512 = Buffer.from(JSON.stringify({ alg: 'HS512' })).toString('base64url');
    const sig = createHmac('sha512', SECRET).update(`${hs512}.${body}`).digest('base64url');
    expect(reason(() => verifier.verify(`${hs512}.${body}.${sig}`, now))).toBe('malformed');
    expect(
      reason(() => verifier.verify(signJwt({ sub: 'a', exp: now / 1000 - 31 }, SECRET), now)),
    ).toBe('expired');
    expect(
      reason(() => verifier.verify(signJwt({ sub: 'a', exp: now / 1000 - 29 }, SECRET), now)),
    ).toBe('accepted');
    expect(
      reason(() => verifier.verify(signJwt({ sub: 'a', nbf: now / 1000 + 60 }, SECRET), now)),
    ).toBe('not_yet_valid');
    expect(reason(() => verifier.verify(signJwt({ exp: now / 1000 + 60 }, SECRET), now))).toBe(
      'no_subject',
    );
  });
});
