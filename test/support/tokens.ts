import { SignJWT } from 'jose';

/** Test-only: an HS256 JWT with these claims (`exp` one hour ahead unless given or `null`). */
export async function signJwt(
  claims: Record<string, unknown> & { exp?: number | null },
  secret: string,
  header: { alg?: string } = {},
): Promise<string> {
  const { exp, ...rest } = claims;
  const jwt = new SignJWT(rest).setProtectedHeader({ alg: header.alg ?? 'HS256' });
  if (exp !== null) jwt.setExpirationTime(exp ?? Math.floor(Date.now() / 1000) + 3600);
  return jwt.sign(new TextEncoder().encode(secret));
}
