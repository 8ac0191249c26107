import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { createApp } from './app.factory';
import { DOCS_PATH } from './common/swagger';
import type { AppConfig } from './config/app-config';
import { ConfigValidationError, loadConfig } from './config/load-config';

/** Past this, a stop that is still waiting on something exits anyway (the target is 10 s). */
const SHUTDOWN_GRACE_MS = 8000;

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`usage-gateway: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  let app;
  try {
    app = await createApp(config);
  } catch (error) {
    // One line with the cause and the fix, not Nest's stack of the failed bootstrap.
    process.stderr.write(`usage-gateway: ${bootFailure(error, config)}\n`);
    process.exit(1);
  }
  const logger = new Logger('Bootstrap');

  // Our own signal handling (not enableShutdownHooks) so a clean stop exits 0, within a bound.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: finishing in-flight requests, then exiting`);
    const force = setTimeout(() => {
      logger.error(`shutdown took longer than ${SHUTDOWN_GRACE_MS} ms; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: Ctrl-C under `npm start` delivers SIGINT twice (the terminal signals the
  // whole group, and npm forwards its own copy); a second signal must not kill the clean stop.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The Socket.IO Redis adapter sends some commands without awaiting them (a session saved when a
  // socket drops, a publish); during a Redis outage those reject with nobody listening. That must
  // not take the instance down (it keeps serving its own clients), so such a rejection is logged.
  const unhandled = new Counter({
    name: 'process_unhandled_rejections_total',
    help: 'Promise rejections nobody handled (logged with their stack; the process kept running)',
    registers: [app.get(Registry)],
  });
  process.on('unhandledRejection', (reason: unknown) => {
    unhandled.inc();
    logger.error(
      `unhandled rejection (kept running): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
    );
  });

  try {
    await app.listen({ port: config.server.port, host: config.server.host });
  } catch (error) {
    // A gateway that cannot listen is of no use to anyone: say why, stop the bridge, exit 1.
    const { port, host } = config.server;
    const reason =
      (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use: stop the other process or set PORT`
        : (error as Error).message;
    logger.error(`cannot listen: ${reason}`);
    await app.close().catch(() => undefined);
    process.exit(1);
  }
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  logger.log(
    `usage-gateway listening on ${url}  ·  dashboard: ${url}/  ·  ` +
      (config.docs.enabled ? `API docs: ${url}/${DOCS_PATH}  ·  ` : '') +
      `health: ${url}/health`,
  );
}

/** Why the application could not be built, in one line with what to do about it. */
function bootFailure(error: unknown, config: AppConfig): string {
  const e = error as { code?: string; message?: string; driverError?: { code?: string } };
  const code = e.code ?? e.driverError?.code ?? '';
  const reason = e.message ?? String(error);
  if (config.database.type === 'postgres') {
    const url = new URL(config.database.url);
    const where = `${url.hostname}:${url.port || 5432}${url.pathname}`;
    if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(code))
      return `cannot reach PostgreSQL at ${where} (${code}): start it, or fix DATABASE_URL`;
    if (code === '28P01' || code === '28000')
      return `PostgreSQL at ${where} refused the user or password in DATABASE_URL (${code})`;
    if (code === '3D000')
      return `the database ${url.pathname.slice(1)} does not exist on ${url.hostname}: create it, or fix DATABASE_URL`;
    if (/timeout/i.test(reason))
      return `PostgreSQL at ${where} did not answer in time: is it up and reachable? (DATABASE_URL)`;
  } else if (/SQLITE_CANTOPEN|EACCES|EROFS|unable to open/i.test(`${code} ${reason}`))
    return `cannot open the SQLite file ${config.database.path} (${code || reason}): check DB_SQLITE_PATH and that its folder is writable`;
  return `cannot start: ${reason}`;
}

void bootstrap();
