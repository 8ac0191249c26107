import { Injectable } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';

/** The claims the gateway reads from a token (DESIGN.md §5: `sub`, `projects`, `role`). */
export interface TokenClaims {
  readonly sub: string;
  readonly projects: readonly string[];
  readonly role: string | undefined;
  readonly exp: number | undefined;
}

export class TokenRejectedError extends Error {
  constructor(
    readonly reason:
      'missing' | 'malformed' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'no_subject',
  ) {
    super(`token rejected: ${reason}`);
    this.name = 'TokenRejectedError';
  }
}

const CLOCK_SKEW_S = 30;

function decodeSegment(segment: string): unknown {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

/**
 * HS256 JSON Web Tokens signed with AUTH_JWT_SECRET. Only HS256 is accepted (never `none`, never
 * an algorithm named by the token itself), `exp`/`nbf` are enforced with 30 s of clock skew.
 */
@Injectable()
export class JwtVerifier {
  private readonly secret: Buffer | undefined;

  constructor(config: AppConfig) {
    this.secret =
      config.auth.jwtSecret === undefined ? undefined : Buffer.from(config.auth.jwtSecret);
  }

  get enabled(): boolean {
    return this.secret !== undefined;
  }

  verify(token: string | undefined, nowMs = Date.now()): TokenClaims {
    if (!this.secret) throw new Error('AUTH_JWT_SECRET is not set');
    if (!token) throw new TokenRejectedError('missing');
    const parts = token.split('.');
    if (parts.length !== 3) throw new TokenRejectedError('malformed');
    const [head, body, signature] = parts;
    let header: { alg?: unknown; typ?: unknown };
    let claims: Record<string, unknown>;
    try {
      header = decodeSegment(head) as typeof header;
      claims = decodeSegment(body) as Record<string, unknown>;
    } catch {
      throw new TokenRejectedError('malformed');
    }
    if (header?.alg !== 'HS256' || typeof claims !== 'object' || claims === null)
      throw new TokenRejectedError('malformed');
    const expected = createHmac('sha256', this.secret).update(`${head}.${body}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new TokenRejectedError('bad_signature');
    const now = nowMs / 1000;
    const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
    if (exp !== undefined && now > exp + CLOCK_SKEW_S) throw new TokenRejectedError('expired');
    if (typeof claims.nbf === 'number' && now < claims.nbf - CLOCK_SKEW_S)
      throw new TokenRejectedError('not_yet_valid');
    if (typeof claims.sub !== 'string' || claims.sub === '')
      throw new TokenRejectedError('no_subject');
    return {
      sub: claims.sub,
      projects: Array.isArray(claims.projects) ? claims.projects.map(String) : [],
      role: typeof claims.role === 'string' ? claims.role : undefined,
      exp,
    };
  }
}

/** Signs claims with HS256 (tests, tools). */
export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}
