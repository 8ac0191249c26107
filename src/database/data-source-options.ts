import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { sqliteDriver } from './sqlite-driver';

const SQLITE_BUSY_TIMEOUT_MS = 5000;
const PG_CONNECT_TIMEOUT_MS = 2000;

/**
 * The one DataSource definition, used by the Nest app and by the CLI (`ormconfig.ts`).
 * The schema changes only through migrations: `synchronize` is never on.
 */
export function buildDataSourceOptions(database: DatabaseConfig): DataSourceOptions {
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
      extra: { max: 10, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS },
    };
  }
  return {
    ...common,
    type: 'better-sqlite3',
    driver: sqliteDriver(),
    database: database.path,
    // WAL lets readers proceed while a writer commits; the busy timeout waits out short locks
    // (the CLI and the app may touch the file at once) instead of failing with SQLITE_BUSY.
    enableWAL: true,
    timeout: SQLITE_BUSY_TIMEOUT_MS,
  };
}
