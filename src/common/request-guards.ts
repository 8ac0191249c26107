import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config/app-config';
import { HostAllowList, originAllowedFor } from './host-allow-list';
import { sendProblem } from './problem-details.filter';
import { REQUEST_ID_HEADER } from './request-id';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The first thing every HTTP request meets, before routing (REST, the dashboard, /docs, /health):
 * a `Host` outside the allow-list is refused (DNS rebinding), and a state-changing request from a
 * foreign page is refused (CSRF) — also when auth is on, since a browser may hold no credential
 * but the gateway may still be open to it on loopback. Socket.IO and /stream check the same
 * HostAllowList at their handshakes.
 */
export function registerRequestGuards(fastify: FastifyInstance, server: ServerConfig): void {
  const hosts = HostAllowList.forServer(server);
  const origins = new Set(server.corsOrigins);
  fastify.addHook('onRequest', (request, reply, done) => {
    const refuse = (title: string, detail: string) => {
      void reply.header(REQUEST_ID_HEADER, request.id);
      sendProblem(reply, {
        type: 'about:blank',
        title,
        status: 403,
        detail,
        instance: request.url.split('?')[0],
        request_id: String(request.id),
      });
    };
    if (!hosts.allows(request.headers.host))
      return refuse(
        'Forbidden',
        'this Host is not served here (DNS rebinding protection): add it to ALLOWED_HOSTS to allow it',
      );
    if (!SAFE_METHODS.has(request.method) && !originAllowedFor(request.headers, origins))
      return refuse(
        'Forbidden',
        'a request that changes state from another origin is refused (CSRF): add the origin to CORS_ORIGINS to allow it',
      );
    done();
  });
}
