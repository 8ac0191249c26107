import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { map, type Observable } from 'rxjs';
import type { Sourced } from './usage-params';

/** Unwraps a Sourced answer into its payload and says where it came from, and how old it is. */
@Injectable()
export class DataSourceInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler<Sourced<unknown>>): Observable<unknown> {
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(
      map((result) => {
        void reply.header('X-Data-Source', result.source);
        if (result.source !== 'bridge')
          void reply.header('X-Data-Age', String(result.ageSeconds ?? 0));
        return result.payload;
      }),
    );
  }
}
