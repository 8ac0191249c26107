import {
  type CanActivate,
  type ExecutionContext,
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
} from './authenticator';

const PUBLIC_ROUTE = 'auth:public';

/** Liveness, readiness, metrics (own token) and docs: outside the credential rule. */
export const PublicRoute = () => SetMetadata(PUBLIC_ROUTE, true);

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
 * DESIGN.md §3: with AUTH_JWT_SECRET or API_KEYS configured, every route that is not public needs
 * a credential — `Authorization: Bearer <JWT>` or `X-API-Key` (acting as admin) — for reads and
 * writes alike. With neither configured everything is open (loopback only: see HOST).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    if (!this.authenticator.required) return true;
    if (
      this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [
        context.getHandler(),
        context.getClass(),
      ])
    )
      return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const verdict = await credentialVerdict(request, this.authenticator);
    if (verdict instanceof CredentialRejectedError) throw new UnauthorizedException(verdict.detail);
    request.principal = verdict;
    return true;
  }
}
