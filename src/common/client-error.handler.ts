import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from './problem-details';
import { randomUUID } from 'node:crypto';
import { REQUEST_ID_HEADER } from './request-id';

/** What Node's HTTP parser could not take, in the API's words (docs/design.md §4). */
function problemFor(code: string | undefined): { status: number; detail: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        detail: 'the request headers are larger than this server accepts (16 KB)',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return { status: 408, detail: 'the request was not received in time' };
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_INVALID_HEADER_VALUE':
    case 'HPE_LF_EXPECTED':
    case 'HPE_CR_EXPECTED':
      return { status: 400, detail: 'a request header is malformed (an invalid byte or line end)' };
    default:
      return { status: 400, detail: 'the request could not be read as HTTP/1.1' };
  }
}

/**
 * Fastify's `clientErrorHandler`: errors of the HTTP layer itself (a 431 for huge headers, a bad
 * header byte, a timeout) answered as problem details like every other error, instead of
 * Fastify's plain JSON. There is no request object yet, so the id is made here.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, detail } = problemFor(error.code);
  const requestId = randomUUID();
  const problem: ProblemDetails = {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: '',
    request_id: requestId,
  };
  const body = JSON.stringify(problem);
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${REQUEST_ID_HEADER}: ${requestId}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  socket.destroy(error);
}
