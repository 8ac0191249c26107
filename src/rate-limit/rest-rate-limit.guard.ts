import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerException, ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { bearerToken, firstString } from '../auth/authenticator';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isReadRequest = (context: ExecutionContext): boolean =>
  READ_METHODS.has(context.switchToHttp().getRequest<FastifyRequest>().method);

const fingerprint = (credential: string) =>
  createHash('sha256').update(credential).digest('base64url').slice(0, 22);

/**
 * DESIGN.md §3 REST limits (RATE_LIMIT_READS_PER_MIN, RATE_LIMIT_WRITES_PER_MIN): counted per
 * credential — an API key or a bearer token, by a hash, never the secret itself — else per client
 * IP, across all routes; over the limit → 429 problem details with `Retry-After` (seconds).
 */
@Injectable()
export class RestRateLimitGuard extends ThrottlerGuard {
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(context.getType() !== 'http');
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    const req = request as unknown as FastifyRequest;
    const credential =
      firstString(req.headers['x-api-key']) ?? bearerToken(req.headers.authorization);
    return Promise.resolve(credential ? `cred:${fingerprint(credential)}` : `ip:${req.ip}`);
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
