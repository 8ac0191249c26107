import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, type ProblemDetails } from './problem-details';
import { AppError } from './app-error';
import { isDatabaseUnavailable } from '../database/database-errors';
import {
  DATABASE_RETRY_AFTER_S,
  type DatabaseAvailability,
} from '../database/database-availability';

interface HttpBody {
  message?: unknown;
  error?: unknown;
  details?: unknown;
}

/** Fastify's own errors (bad JSON, body too large, wrong content type) carry a statusCode. */
function fastifyStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}

export function toProblem(error: unknown, request: FastifyRequest): ProblemDetails {
  const base = { instance: request.url.split('?')[0], request_id: String(request.id) };

  // What the code below the HTTP edge throws (app-error.ts): it describes itself.
  if (error instanceof AppError) {
    const own = error.toProblem();
    return {
      type: 'about:blank',
      title: STATUS_CODES[own.status] ?? 'Error',
      detail: STATUS_CODES[own.status] ?? 'Error',
      ...own,
      ...base,
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const body = typeof response === 'string' ? { message: response } : (response as HttpBody);
    // Terminus answers a failed health check with the per-check details; keep them as an
    // RFC 9457 extension member so probes and people still see which check failed.
    if (body.details && typeof body.details === 'object') {
      const failed = Object.keys((body.error as object | undefined) ?? {});
      return {
        type: 'about:blank',
        title: STATUS_CODES[status] ?? 'Error',
        status,
        detail: failed.length ? `failing checks: ${failed.join(', ')}` : error.message,
        checks: body.details as Record<string, unknown>,
        ...base,
      };
    }
    const message = body.message ?? error.message;
    return {
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail: Array.isArray(message) ? message.join('; ') : String(message),
      ...base,
    };
  }
  if (isDatabaseUnavailable(error)) {
    return {
      type: PROBLEM_TYPES.databaseUnavailable,
      title: STATUS_CODES[503] as string,
      status: 503,
      detail: `The database is unavailable; nothing was stored. Retry after ${DATABASE_RETRY_AFTER_S} s.`,
      ...base,
    };
  }
  const status = fastifyStatus(error);
  if (status !== undefined && status < 500) {
    return {
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail: (error as Error).message,
      ...base,
    };
  }
  // Anything else is our fault: say so without leaking internals; the log has the details.
  return {
    type: 'about:blank',
    title: STATUS_CODES[500] as string,
    status: 500,
    detail: 'An unexpected error occurred; quote the request_id when reporting it.',
    ...base,
  };
}

export function sendProblem(reply: FastifyReply, problem: ProblemDetails): void {
  if (problem.type === PROBLEM_TYPES.databaseUnavailable)
    void reply.header('retry-after', String(DATABASE_RETRY_AFTER_S));
  void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
}

/** The one place errors become responses: RFC 9457 problem details with the request id. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  /** With the database's availability, an outage is logged once (by it), not per request. */
  constructor(private readonly database?: DatabaseAvailability) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = toProblem(exception, request);
    if (problem.type === PROBLEM_TYPES.databaseUnavailable && this.database) {
      this.database.observe(exception);
      this.database.refusedOne();
    } else if (problem.status === 500) {
      // Only the unexpected: a failed health check, a bridge problem or an outage is reported
      // (once) where it is known, not with a stack per request.
      this.logger.error(
        { err: exception, request_id: problem.request_id },
        'request failed with an unexpected error',
      );
    }
    sendProblem(reply, problem);
  }
}
