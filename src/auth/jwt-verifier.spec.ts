import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signJwt } from '../../test/support/tokens';
import { loadConfig } from '../config/load-config';
import { JwtVerifier, TokenRejectedError } from './jwt-verifier';

const SECRET = 'unit-test-secret-that-is-long-enough!';
const OLD_SECRET = 'the-previous-secret-still-accepted-for-now';
const verifier = new JwtVerifier(loadConfig({ AUTH_JWT_SECRET: `${SECRET},${OLD_SECRET}` }));
const strict = new JwtVerifier(
  loadConfig({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: 'idp', AUTH_JWT_AUDIENCE: 'gateway' }),
);
const reason = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return (error as TokenRejectedError).reason ?? String(error);
  }
  return 'accepted';
};

describe('JwtVerifier (jose)', () => {
  const now = 1_800_000_000_000;
  const exp = now / 1000 + 60;

  it('accepts a valid HS256 token and reads sub, projects and role', async () => {
    const token = await signJwt(
      { sub: 'alice', projects: ['shop', 7], role: 'admin', exp },
      SECRET,
    );
    await expect(verifier.verify(token, now)).resolves.toEqual({
      sub: 'alice',
      projects: ['shop'],
      role: 'admin',
      exp,
    });
  });

  it('accepts a token signed with any secret of the list (rotation)', async () => {
    const token = await signJwt({ sub: 'bob', exp }, OLD_SECRET);
    expect((await verifier.verify(token, now)).sub).toBe('bob');
    expect(await reason(strict.verify(token, now))).toBe('bad_signature');
  });

  it('refuses missing, malformed, forged, alg-swapped, expired, early, exp-less and subject-less tokens', async () => {
    expect(await reason(verifier.verify(undefined, now))).toBe('missing');
    expect(await reason(verifier.verify('a.b', now))).toBe('malformed');
    expect(await reason(verifier.verify('!!.??.**', now))).toBe('malformed');
    expect(
      await reason(
        verifier.verify(
          await signJwt({ sub: 'a', exp }, 'other-secret-other-secret-other-secret'),
          now,
        ),
      ),
    ).toBe('bad_signature');
    const body = Buffer.from(JSON.stringify({ sub: 'a', exp })).toString('base64url');
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expect(await reason(verifier.verify(`${none}.${body}.`, now))).toBe('malformed');
    const hs512 = Buffer.from(JSON.stringify({ alg: 'HS512' })).toString('base64url');
    const sig = createHmac('sha512', SECRET).update(`${hs512}.${body}`).digest('base64url');
    expect(await reason(verifier.verify(`${hs512}.${body}.${sig}`, now))).toBe('malformed');
    expect(
      await reason(verifier.verify(await signJwt({ sub: 'a', exp: now / 1000 - 31 }, SECRET), now)),
    ).toBe('expired');
    expect(
      await reason(verifier.verify(await signJwt({ sub: 'a', exp: now / 1000 - 29 }, SECRET), now)),
    ).toBe('accepted');
    expect(
      await reason(
        verifier.verify(await signJwt({ sub: 'a', exp, nbf: now / 1000 + 60 }, SECRET), now),
      ),
    ).toBe('not_yet_valid');
    expect(await reason(verifier.verify(await signJwt({ sub: 'a', exp: null }, SECRET), now))).toBe(
      'no_expiry',
    );
    expect(await reason(verifier.verify(await signJwt({ exp }, SECRET), now))).toBe('no_subject');
  });

  it('checks issuer and audience when they are configured', async () => {
    const good = await signJwt({ sub: 'a', exp, iss: 'idp', aud: 'gateway' }, SECRET);
    expect(await reason(strict.verify(good, now))).toBe('accepted');
    expect(
      await reason(
        strict.verify(await signJwt({ sub: 'a', exp, iss: 'evil', aud: 'gateway' }, SECRET), now),
      ),
    ).toBe('wrong_issuer');
    expect(
      await reason(
        strict.verify(await signJwt({ sub: 'a', exp, iss: 'idp', aud: 'other' }, SECRET), now),
      ),
    ).toBe('wrong_audience');
    expect(await reason(strict.verify(await signJwt({ sub: 'a', exp }, SECRET), now))).toBe(
      'wrong_issuer',
    );
  });
});
