import { Injectable } from '@nestjs/common';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { AppConfig, type AuthConfig } from '../config/app-config';

/** The claims the gateway reads from a token (docs/design.md §5: `sub`, `projects`, `role`). */
export interface TokenClaims {
  readonly sub: string;
  readonly projects: readonly string[];
  readonly role: string | undefined;
  readonly exp: number;
}

export type TokenRejection =
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'no_expiry'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'no_subject';

export class TokenRejectedError extends Error {
  constructor(readonly reason: TokenRejection) {
    super(`token rejected: ${reason}`);
    this.name = 'TokenRejectedError';
  }
}

/** How far a token's times may be off our clock (exp, nbf): the same everywhere it is checked. */
export const CLOCK_SKEW_S = 30;

/** What jose says about a token, in the gateway's words (never jose's message: it names claims). */
function rejectionOf(error: unknown): TokenRejection {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'exp') return error.reason === 'missing' ? 'no_expiry' : 'expired';
    if (error.claim === 'nbf') return 'not_yet_valid';
    if (error.claim === 'iss') return 'wrong_issuer';
    if (error.claim === 'aud') return 'wrong_audience';
    if (error.claim === 'sub') return 'no_subject';
    return 'malformed';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  return 'malformed';
}

/**
 * HS256 JSON Web Tokens, verified with `jose`: only HS256 (never `none`, never an algorithm the
 * token names), `exp` required, `nbf` enforced, 30 s of clock skew, `iss`/`aud` when configured.
 * AUTH_JWT_SECRET may list several secrets (rotation): a token signed with any of them is valid.
 * The gateway never issues tokens.
 */
@Injectable()
export class JwtVerifier {
  private readonly secrets: readonly Uint8Array[];
  private readonly auth: AuthConfig;

  constructor(config: AppConfig) {
    this.auth = config.auth;
    this.secrets = config.auth.jwtSecrets.map((secret) => new TextEncoder().encode(secret));
  }

  get enabled(): boolean {
    return this.secrets.length > 0;
  }

  async verify(token: string | undefined, nowMs: number): Promise<TokenClaims> {
    if (!this.enabled) throw new Error('AUTH_JWT_SECRET is not set');
    if (!token) throw new TokenRejectedError('missing');
    let payload: JWTPayload | undefined;
    let rejection: TokenRejection = 'bad_signature';
    for (const secret of this.secrets) {
      try {
        ({ payload } = await jwtVerify(token, secret, {
          algorithms: ['HS256'],
          requiredClaims: ['exp'],
          issuer: this.auth.jwtIssuer,
          audience: this.auth.jwtAudience,
          clockTolerance: CLOCK_SKEW_S,
          currentDate: new Date(nowMs),
        }));
        break;
      } catch (error) {
        rejection = rejectionOf(error);
        // Another secret may have signed it; any other verdict is final.
        if (rejection !== 'bad_signature') throw new TokenRejectedError(rejection);
      }
    }
    if (!payload) throw new TokenRejectedError(rejection);
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new TokenRejectedError('no_subject');
    return {
      sub: payload.sub,
      projects: Array.isArray(payload.projects)
        ? payload.projects.filter((p): p is string => typeof p === 'string')
        : [],
      role: typeof payload.role === 'string' ? payload.role : undefined,
      exp: payload.exp as number,
    };
  }
}
