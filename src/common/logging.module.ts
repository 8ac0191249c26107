import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';

/** Anything that can authenticate a caller; it never reaches a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-hub-signature-256"]',
  'res.headers["set-cookie"]',
];

/** Structured JSON logs (pino) with the request id on every line of a request. */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.log.level,
          redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
          // Probes and scrapes would drown the log; errors on them are still logged.
          autoLogging: {
            // Fastify's middleware layer rewrites req.url relative to the mount; originalUrl is the path.
            ignore: (req) =>
              /^\/(health|metrics)/.test(
                (req as { originalUrl?: string }).originalUrl ?? req.url ?? '',
              ),
          },
          customLogLevel: (_req, res, err) =>
            err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
          serializers: {
            // The query string may carry a token (`/stream?token=`); log the path only.
            req: (req: { id: string; method: string; url: string }) => ({
              id: req.id,
              method: req.method,
              path: req.url?.split('?')[0],
            }),
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
