import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where the built dashboard is: next to the compiled code (dist/web), or dist/web from src/. */
export function dashboardRoot(): string | undefined {
  return [join(__dirname, '..', 'web'), join(__dirname, '..', '..', 'dist', 'web')].find((dir) =>
    existsSync(join(dir, 'index.html')),
  );
}

/**
 * The dashboard (web/, built by `npm run build` into dist/web) at `/`: hashed assets cached for a
 * year as immutable, index.html always revalidated. Only the files that exist are routes (no
 * wildcard), so every other path stays the API's. Without a build, `/` says how to make one.
 */
export async function registerDashboard(app: NestFastifyApplication): Promise<void> {
  const root = dashboardRoot();
  const fastify = app.getHttpAdapter().getInstance();
  if (!root) {
    fastify.get('/', (_request, reply) => {
      void reply
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built: run `npm run build` (it builds web/ into dist/web).\n');
    });
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    decorateReply: false,
    index: ['index.html'],
    setHeaders: (res, path) => {
      res.header(
        'cache-control',
        path.includes(`${join('web', 'assets')}`)
          ? 'public, max-age=31536000, immutable'
          : 'no-cache',
      );
    },
  });
}
