import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { catchError, from, type Observable, throwError } from 'rxjs';
import { BridgeUnavailableError } from '../bridge/bridge-call.error';
import type { SnapshotKind } from './usage-snapshot.entity';
import type { Sourced } from './usage-params';
import { UsageService } from './usage.service';

const FALLBACK_KIND = 'usage:fallback-kind';

/** Marks a read whose failure to reach the bridge is answered from the fallbacks. */
export const UsageFallback = (kind: SnapshotKind) => SetMetadata(FALLBACK_KIND, kind);

/**
 * When the bridge cannot answer (down, slow, breaker open), answer from the best fallback instead
 * of an error: fresh cache, then the latest snapshot, then a payload of zeros. A 4xx from the
 * bridge is the caller's mistake and passes through.
 */
@Injectable()
export class FallbackInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly usage: UsageService,
  ) {}

  intercept(
    context: ExecutionContext,
    next: CallHandler<Sourced<unknown>>,
  ): Observable<Sourced<unknown>> {
    const kind = this.reflector.get<SnapshotKind | undefined>(FALLBACK_KIND, context.getHandler());
    if (!kind) return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return next
      .handle()
      .pipe(
        catchError((error: unknown) =>
          error instanceof BridgeUnavailableError
            ? from(this.usage.fallback(kind, (request.query ?? {}) as Record<string, unknown>))
            : throwError(() => error),
        ),
      );
  }
}
