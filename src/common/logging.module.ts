import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { PrettyLogStream } from './pretty-log-stream';

/** Anything that can authenticate a caller; it never reaches a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-hub-signature-256"]',
  'res.headers["set-cookie"]',
];

/**
 * Nest's own start-up chatter (~75 lines: every module loaded, every route mapped): debug, not
 * info — the start-up a person reads is the listening line (with the dashboard's URL).
 */
const BOOT_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
  'WebSocketsController',
]);
const INFO = 30;

/**
 * Logs (pino) with the request id on every line of a request: JSON for a collector, one short
 * line each on a terminal (LOG_FORMAT, default by whether stdout is a TTY).
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: [
          {
            level: config.log.level,
            hooks: {
              logMethod(args, method, level) {
                const first = args[0] as unknown as { context?: unknown } | undefined;
                if (
                  level === INFO &&
                  typeof first === 'object' &&
                  first !== null &&
                  BOOT_CONTEXTS.has(String(first.context))
                ) {
                  this.debug(...(args as [object, string]));
                  return;
                }
                method.apply(this, args);
              },
            },
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
          config.log.format === 'pretty'
            ? new PrettyLogStream(process.stdout, config.log.colour)
            : process.stdout,
        ],
      }),
    }),
  ],
})
export class LoggingModule {}
