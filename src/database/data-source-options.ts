import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { DeadlineClient } from './pg-deadline-client';

const PG_CONNECT_TIMEOUT_MS = 2000;
/** TCP keepalive probes start after this much silence on a PostgreSQL connection. */
const PG_KEEPALIVE_DELAY_MS = 10_000;
/** The client's read deadline is a little longer than the server's, which answers cleanly. */
const PG_READ_GRACE_MS = 500;

/**
 * The one DataSource definition, used by the Nest app and by the CLI (`ormconfig.ts`).
 * The schema changes only through migrations: `synchronize` is never on. `deadlines: false`
 * (migrations: an index built on a big table may take minutes) leaves PostgreSQL statements
 * without the query deadline.
 */
export function buildDataSourceOptions(
  database: DatabaseConfig,
  { deadlines = true }: { deadlines?: boolean } = {},
): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsRun: database.migrationsRun,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: false,
  };
  if (database.type === 'postgres') {
    return {
      ...common,
      type: 'postgres',
      url: database.url,
      extra: {
        max: 10,
        Client: DeadlineClient,
        // Waiting for a connection (a new one, or a free one of the pool) has a deadline too.
        connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
        // The server cancels a statement past the deadline; the client gives up on an answer that
        // does not come (a silent partition) a little later and drops that connection. A
        // transaction left open by a client that vanished does not hold its locks for long.
        ...(deadlines && {
          statement_timeout: database.queryTimeoutMs,
          query_timeout: database.queryTimeoutMs + PG_READ_GRACE_MS,
          idle_in_transaction_session_timeout: 2 * database.queryTimeoutMs,
        }),
        keepAlive: true,
        keepAliveInitialDelayMillis: PG_KEEPALIVE_DELAY_MS,
      },
    };
  }
  return {
    ...common,
    type: 'better-sqlite3',
    database: database.path,
    // WAL lets readers proceed while a writer commits; the busy timeout waits out short locks
    // (the CLI and the app may touch the file at once) instead of failing with SQLITE_BUSY.
    enableWAL: true,
    timeout: database.queryTimeoutMs,
  };
}
