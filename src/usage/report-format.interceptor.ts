import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, type Observable } from 'rxjs';
import { REPORT_KINDS, type UsageReportDto } from './dto/usage-report.dto';
import { reportToCsv } from './report-csv';
import type { Sourced } from './usage-params';

/**
 * `format=csv` on a report route: the answer — whichever source it came from, fallbacks included
 * (so this sits outside the FallbackInterceptor) — as RFC 4180 text for spreadsheets.
 */
@Injectable()
export class ReportFormatInterceptor implements NestInterceptor {
  intercept(
    context: ExecutionContext,
    next: CallHandler<Sourced<UsageReportDto>>,
  ): Observable<Sourced<unknown>> {
    const http = context.switchToHttp();
    const query = (http.getRequest<FastifyRequest>().query ?? {}) as Record<string, unknown>;
    if (query.format !== 'csv') return next.handle();
    const reply = http.getResponse<FastifyReply>();
    return next.handle().pipe(
      map((result) => {
        const kind = REPORT_KINDS.find((k) => k in result.payload) ?? 'report';
        void reply
          .header('Content-Type', 'text/csv; charset=utf-8; header=present')
          .header('Content-Disposition', `attachment; filename="usage-${kind}.csv"`);
        return { ...result, payload: reportToCsv(result.payload) };
      }),
    );
  }
}
