import { type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerException,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { credentialVerdict } from '../auth/auth.guard';
import { Authenticator, bearerToken, firstString } from '../auth/authenticator';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isReadRequest = (context: ExecutionContext): boolean =>
  READ_METHODS.has(context.switchToHttp().getRequest<FastifyRequest>().method);

const fingerprint = (credential: string) =>
  createHash('sha256').update(credential).digest('base64url').slice(0, 22);

/**
 * docs/design.md §3 REST limits (RATE_LIMIT_READS_PER_MIN, RATE_LIMIT_WRITES_PER_MIN): counted per
 * verified credential — an API key or a bearer token that the Authenticator accepts, by a hash,
 * never the secret itself — else per client address: anonymous callers and every refused
 * credential share their address's budget, so a flood of made-up keys is limited like any other
 * flood (it used to get a fresh budget per key). Across all routes; over the limit → 429 problem
 * details with `Retry-After` (seconds).
 */
@Injectable()
export class RestRateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {
    super(options, storage, reflector);
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(context.getType() !== 'http');
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const req = request as unknown as FastifyRequest;
    const credential =
      firstString(req.headers['x-api-key']) ?? bearerToken(req.headers.authorization);
    if (!credential || !this.authenticator.required) return `ip:${req.ip}`;
    const verdict = await credentialVerdict(req, this.authenticator);
    return verdict && !(verdict instanceof Error)
      ? `cred:${fingerprint(credential)}`
      : `ip:${req.ip}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string) {
    return `ug:ratelimit:${name}:${tracker}`;
  }

  protected override throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    void reply.header('Retry-After', String(Math.max(1, detail.timeToBlockExpire)));
    const kind = detail.key.includes(':writes:') ? 'writes' : 'reads';
    throw new ThrottlerException(
      `too many ${kind}: at most ${detail.limit} per minute for this ${detail.tracker.startsWith('cred:') ? 'credential' : 'address'}; retry after ${Math.max(1, detail.timeToBlockExpire)} s`,
    );
  }
}
