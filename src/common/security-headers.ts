import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * What helmet sets, with our Content-Security-Policy: nothing but this origin — scripts and
 * styles from files only (the dashboard), fetches and the socket to this origin.
 */
export const SECURITY_HEADER_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      connectSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      // helmet's default would make browsers fetch every asset over https: on plain http off
      // localhost (HOST=0.0.0.0, the documented network setup) the page would load nothing.
      upgradeInsecureRequests: null,
    },
  },
};

/** Swagger UI (/docs) needs inline scripts and styles, and shows the validator badge. */
export const DOCS_SECURITY_HEADER_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      scriptSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'validator.swagger.io'],
      upgradeInsecureRequests: null,
    },
  },
};

/**
 * The headers helmet would set, computed once. (@fastify/helmet rebuilds helmet on every request,
 * parsing the CSP each time: a fifth of a cached read's CPU.) The headers are the same for every
 * response, so they are captured from one dry run and set as a block.
 */
export function securityHeaders(
  options: HelmetOptions = SECURITY_HEADER_OPTIONS,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => delete headers[name.toLowerCase()],
  };
  let error: unknown;
  helmet(options)({} as never, res as never, (err?: unknown) => (error = err));
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return headers;
}

export function registerSecurityHeaders(fastify: FastifyInstance): void {
  const headers = securityHeaders();
  const docs = securityHeaders(DOCS_SECURITY_HEADER_OPTIONS);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(request.url.startsWith('/docs') ? docs : headers);
    done();
  });
}
