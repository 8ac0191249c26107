import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { DOCS_PATH } from './common/swagger';
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

  const app = await createApp(config);
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
  process.on('unhandledRejection', (reason: unknown) => {
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
  const url = await app.getUrl();
  logger.log(
    `usage-gateway listening on ${url}  ·  ` +
      (config.docs.enabled ? `API docs: ${url}/${DOCS_PATH}  ·  ` : '') +
      `health: ${url}/health`,
  );
}

void bootstrap();
