import type { FastifyInstance } from 'fastify';
import { createGunzip } from 'node:zlib';
import { sendProblem } from './problem-details.filter';

/**
 * Request bodies may come gzip-compressed (`Content-Encoding: gzip`: the push client's batches,
 * OTLP exporters). The body limit applies to the decompressed bytes, so a small bomb is stopped at
 * the limit (413) like any large body; a body that is not gzip is a 400; another encoding a 415.
 */
export function registerContentEncoding(fastify: FastifyInstance): void {
  fastify.addHook('preParsing', (request, reply, payload, done) => {
    const header = request.headers['content-encoding'];
    const encoding = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .trim()
      .toLowerCase();
    if (encoding === '' || encoding === 'identity') return done(null, payload);
    if (encoding !== 'gzip') {
      sendProblem(reply, {
        type: 'about:blank',
        title: 'Unsupported Media Type',
        status: 415,
        detail: `Content-Encoding ${encoding} is not supported: send gzip or no encoding`,
        instance: request.url.split('?')[0],
        request_id: String(request.id),
      });
      return;
    }
    const gunzip = createGunzip() as ReturnType<typeof createGunzip> & {
      receivedEncodedLength: number;
    };
    gunzip.receivedEncodedLength = 0;
    payload.on('data', (chunk: Buffer) => (gunzip.receivedEncodedLength += chunk.length));
    payload.on('error', (error) => gunzip.destroy(error));
    payload.pipe(gunzip);
    done(null, gunzip);
  });
}
