import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { MemberDirectory, type MemberRef } from '../team/members/member-directory';
import { isMemberTokenShaped } from '../team/members/member-token';
import { ApiKeyMatcher } from './api-key.matcher';
import { JwtVerifier, TokenRejectedError, type TokenRejection } from './jwt-verifier';

/**
 * The three roles of docs/design.md §9: `admin` (an API key, or a JWT with `role: admin`) may do
 * everything; `viewer` (any other JWT) reads; `member` (a member token, or a JWT whose `sub` names
 * a member) writes usage and hook events as itself and reads its own figures and the team summary.
 */
export type Role = 'admin' | 'viewer' | 'member';

/** Who is calling: a token's subject, a member, or an API key (which acts as `admin`). */
export interface Principal {
  readonly sub: string;
  readonly projects: readonly string[];
  readonly role: Role;
  readonly via: 'token' | 'api_key' | 'member_token';
  /** The team member it acts as (a member token, or a JWT whose `sub` names a member). */
  readonly member?: MemberRef;
  /** A token's `exp` in epoch ms (an API key does not expire). */
  readonly expiresAt?: number;
}

/** What a client presented, on any transport. */
export interface Credentials {
  readonly token?: string;
  readonly apiKey?: string;
}

export type CredentialRejection =
  TokenRejection | 'bad_api_key' | 'bad_member_token' | 'tokens_not_accepted';

export class CredentialRejectedError extends Error {
  constructor(readonly reason: CredentialRejection) {
    super(`credential rejected: ${reason}`);
    this.name = 'CredentialRejectedError';
  }

  /** Words for a client: what to send, or why what it sent was refused. */
  get detail(): string {
    switch (this.reason) {
      case 'missing':
        return 'this gateway needs a credential: Authorization: Bearer <token> or X-API-Key';
      case 'bad_api_key':
        return 'the API key is not valid';
      case 'bad_member_token':
        return 'the member token is not valid (unknown, or revoked)';
      case 'tokens_not_accepted':
        return 'this gateway accepts API keys only (no AUTH_JWT_SECRET is set)';
      default:
        return `the bearer token was refused (${this.reason})`;
    }
  }
}

const API_KEY_PRINCIPAL: Principal = Object.freeze({
  sub: 'api-key',
  projects: Object.freeze([]) as readonly string[],
  role: 'admin',
  via: 'api_key' as const,
});

/**
 * The auth rule of docs/design.md §3 and §9, for REST and both socket transports alike: when any
 * credential is configured (AUTH_JWT_SECRET or API_KEYS), every caller needs one — a valid JWT, a
 * member token, or a valid API key (acting as `admin`). With none configured (loopback only, see
 * HOST) everyone is let in as admin, except that a member token, when one is sent, still names
 * (and restricts to) its member: usage pushed to a loopback gateway is attributed too.
 */
@Injectable()
export class Authenticator {
  readonly required: boolean;

  constructor(
    config: AppConfig,
    private readonly jwt: JwtVerifier,
    private readonly apiKeys: ApiKeyMatcher,
    private readonly members: MemberDirectory,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.required = config.auth.jwtSecrets.length > 0 || config.auth.apiKeys.length > 0;
  }

  /** The caller, or undefined when auth is off; throws CredentialRejectedError otherwise. */
  async authenticate(credentials: Credentials): Promise<Principal | undefined> {
    const { token, apiKey } = credentials;
    if (token && isMemberTokenShaped(token)) return this.memberPrincipal(token);
    if (!this.required) return undefined;
    if (apiKey) {
      if (this.apiKeys.matches(apiKey)) return API_KEY_PRINCIPAL;
      throw new CredentialRejectedError('bad_api_key');
    }
    if (!token) throw new CredentialRejectedError('missing');
    if (!this.jwt.enabled) {
      // A bearer that is in fact an API key (Authorization: Bearer <key>) is accepted too.
      if (this.apiKeys.matches(token)) return API_KEY_PRINCIPAL;
      throw new CredentialRejectedError('tokens_not_accepted');
    }
    try {
      const claims = await this.jwt.verify(token, this.now());
      const member = await this.members.bySubject(claims.sub);
      return {
        sub: claims.sub,
        projects: claims.projects,
        role: claims.role === 'admin' ? 'admin' : member ? 'member' : 'viewer',
        via: 'token',
        expiresAt: claims.exp * 1000,
        ...(member ? { member } : {}),
      };
    } catch (error) {
      if (error instanceof TokenRejectedError) {
        if (this.apiKeys.matches(token)) return API_KEY_PRINCIPAL;
        throw new CredentialRejectedError(error.reason);
      }
      throw error;
    }
  }

  private async memberPrincipal(token: string): Promise<Principal> {
    const member = await this.members.byToken(token);
    if (!member) throw new CredentialRejectedError('bad_member_token');
    return {
      sub: member.name,
      projects: [],
      role: 'member',
      via: 'member_token',
      member,
    };
  }
}

/** `Bearer <token>` → the token. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** The first string of a header or query value. */
export function firstString(value: unknown): string | undefined {
  if (Array.isArray(value)) return firstString(value[0]);
  return typeof value === 'string' && value !== '' ? value : undefined;
}
