import {
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import {
  Authenticator,
  bearerToken,
  CredentialRejectedError,
  firstString,
  type Principal,
  type Role,
} from './authenticator';

const PUBLIC_ROUTE = 'auth:public';
const ROLES = 'auth:roles';

/** Liveness, readiness, metrics (own token) and docs: outside the credential rule. */
export const PublicRoute = () => SetMetadata(PUBLIC_ROUTE, true);

/**
 * The roles a route admits (docs/design.md §9). Without it: reads (GET, HEAD) admit admin and viewer,
 * everything else admin only — a member token reaches only the routes that name `member`.
 */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

const READS: readonly Role[] = ['admin', 'viewer'];
const WRITES: readonly Role[] = ['admin'];

const ROLE_WORDS: Record<Role, string> = {
  admin: 'an admin (an API key, or a JWT with role admin)',
  viewer: 'a viewer (a JWT without role admin)',
  member: 'a member (a member token)',
};

/** Why a role may not use a route, naming who may. */
export function roleRefusal(role: Role, allowed: readonly Role[]): string {
  const who = allowed.map((r) => ROLE_WORDS[r]).join(' or ');
  const what =
    role === 'viewer'
      ? 'a viewer may only read'
      : role === 'member'
        ? 'a member token may only send its own usage and events and read its own figures'
        : 'not allowed';
  return `${what}: this needs ${who}`;
}

const VERDICT = Symbol('credential verdict');

/** The authenticated caller of a request (undefined while auth is off). */
export type AuthenticatedRequest = FastifyRequest & {
  principal?: Principal;
  [VERDICT]?: Promise<Principal | CredentialRejectedError | undefined>;
};

/**
 * What the request's credential is worth, checked once per request and shared by the guards
 * that need it (the rate limit counts per verified credential, the auth guard admits): the
 * principal, the refusal, or undefined when auth is off.
 */
export function credentialVerdict(
  request: FastifyRequest,
  authenticator: Authenticator,
): Promise<Principal | CredentialRejectedError | undefined> {
  const req = request as AuthenticatedRequest;
  req[VERDICT] ??= authenticator
    .authenticate({
      apiKey: firstString(req.headers['x-api-key']),
      token: bearerToken(req.headers.authorization),
    })
    .catch((error: unknown) => {
      if (error instanceof CredentialRejectedError) return error;
      throw error;
    });
  return req[VERDICT];
}

export const isAdmin = (request: FastifyRequest): boolean => {
  const principal = (request as AuthenticatedRequest).principal;
  return principal === undefined || principal.role === 'admin';
};

/**
 * What a caller's reads are limited to: its own member for the `member` role, else nothing
 * (undefined: an admin or viewer reads everyone's).
 */
export function memberScope(caller: Principal | undefined): string | undefined {
  if (caller?.role !== 'member') return undefined;
  if (!caller.member) throw new ForbiddenException('a member credential without a member');
  return caller.member.name;
}

/**
 * docs/design.md §3 and §9: with AUTH_JWT_SECRET or API_KEYS configured, every route that is not public
 * needs a credential — `Authorization: Bearer <JWT or member token>` or `X-API-Key` (acting as
 * admin) — for reads and writes alike, and the credential's role must be one the route admits
 * (@Roles). With neither configured everything is open (loopback only: see HOST), except to a
 * member token, which keeps its member's limits.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const verdict = await credentialVerdict(request, this.authenticator);
    if (verdict instanceof CredentialRejectedError) throw new UnauthorizedException(verdict.detail);
    request.principal = verdict;
    const role = verdict?.role ?? 'admin';
    const allowed =
      this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets) ??
      (request.method === 'GET' || request.method === 'HEAD' ? READS : WRITES);
    if (!allowed.includes(role)) throw new ForbiddenException(roleRefusal(role, allowed));
    return true;
  }
}

/** The authenticated caller of a route (undefined while auth is off and no member token was sent). */
export const Caller = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal | undefined =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().principal,
);
