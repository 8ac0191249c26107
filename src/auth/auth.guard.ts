import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiKeyMatcher } from './api-key.matcher';
import { JwtVerifier, TokenRejectedError } from './jwt-verifier';

const PUBLIC_ROUTE = 'auth:public';

/** Health, metrics and docs: open to probes and scrapers whatever the auth settings. */
export const PublicRoute = () => SetMetadata(PUBLIC_ROUTE, true);

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * DESIGN.md §3: with AUTH_JWT_SECRET, reads need a bearer token; with API_KEYS, writes need an
 * `X-API-Key`. A valid API key also allows reads (bots), and with no API_KEYS a valid bearer
 * token allows writes. With neither set, everything is open (loopback only: see HOST).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtVerifier,
    private readonly apiKeys: ApiKeyMatcher,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    if (
      this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [
        context.getHandler(),
        context.getClass(),
      ])
    )
      return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = request.headers['x-api-key'];
    const keyOk = this.apiKeys.matches(typeof key === 'string' ? key : undefined);
    if (READ_METHODS.has(request.method)) {
      if (!this.jwt.enabled || keyOk) return true;
      this.bearer(request);
      return true;
    }
    if (this.apiKeys.enabled) {
      if (keyOk) return true;
      throw new UnauthorizedException(
        key ? 'the X-API-Key is not valid' : 'this route needs an X-API-Key header',
      );
    }
    if (this.jwt.enabled) this.bearer(request);
    return true;
  }

  private bearer(request: FastifyRequest): void {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    try {
      this.jwt.verify(token);
    } catch (error) {
      if (error instanceof TokenRejectedError)
        throw new UnauthorizedException(
          error.reason === 'missing'
            ? 'this route needs a bearer token'
            : `the bearer token was refused (${error.reason})`,
        );
      throw new ForbiddenException();
    }
  }
}
