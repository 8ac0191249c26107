import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppModule } from './app.module';
import type { Clock } from './common/clock';
import type { AppConfig } from './config/app-config';
import { ProblemDetailsFilter } from './common/problem-details.filter';
import { DatabaseAvailability } from './database/database-availability';
import { genRequestId, REQUEST_ID_HEADER } from './common/request-id';
import { clientErrorHandler } from './common/client-error.handler';
import { parseJsonBody } from './common/json-guard';
import { registerContentEncoding } from './common/content-encoding';
import { registerRequestGuards } from './common/request-guards';
import { registerSecurityHeaders } from './common/security-headers';
import { registerDashboard } from './common/dashboard';
import { setupSwagger } from './common/swagger';
import { createValidationPipe } from './common/validation.pipe';
import { RealtimeIoAdapter } from './realtime/realtime-io.adapter';
import { ModelProxy } from './proxy/model-proxy';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * Builds the whole application (adapter, hardening, pipes, filters, Swagger) without listening,
 * so `main.ts` and the e2e suites boot exactly the same thing.
 */
export async function createApp(
  config: AppConfig,
  options: { clock?: Clock } = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.server.bodyLimitBytes,
    genReqId: genRequestId,
    // On close: refuse new connections, drop idle keep-alive ones, let in-flight requests finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    trustProxy: false,
    clientErrorHandler,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options.clock),
    adapter,
    {
      bufferLogs: true,
      // A failed bootstrap throws to the caller (main.ts says why in one line) instead of Nest
      // printing its buffered logs and the stack and aborting.
      autoFlushLogs: false,
      abortOnError: false,
      // The GitHub webhook signs the exact bytes it sent.
      rawBody: true,
    },
  );
  app.useLogger(app.get(Logger));
  app.flushLogs();

  const fastify = app.getHttpAdapter().getInstance();
  registerRequestGuards(fastify, config.server);
  registerContentEncoding(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });

  registerSecurityHeaders(fastify);
  app.enableCors({
    origin: [...config.server.corsOrigins],
    credentials: true,
    exposedHeaders: ['X-Request-Id', 'X-Data-Source', 'X-Data-Age'],
  });
  // One JSON parser for the whole API: UTF-8, depth and storability checked before validation.
  app.useBodyParser(
    'application/json',
    { bodyLimit: config.server.bodyLimitBytes },
    // Async: Nest completes a parser through the promise it returns (or its `done`).
    async (_req: unknown, body: Buffer) => parseJsonBody(body),
  );
  // OTLP/HTTP's binary encoding (POST /v1/metrics, /v1/logs): the bytes, decoded by the receiver.
  app.useBodyParser(
    'application/x-protobuf',
    { bodyLimit: config.server.bodyLimitBytes },
    async (_req: unknown, body: Buffer) => body,
  );
  // Model requests (POST /v1/messages, …): their bytes as they came, in a scope of their own.
  app.get(ModelProxy).register(fastify);
  app.useWebSocketAdapter(app.get(RealtimeIoAdapter));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter(app.get(DatabaseAvailability)));
  if (config.docs.enabled) await setupSwagger(app, packageVersion());
  await registerDashboard(app);
  return app;
}
