import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { DataSource } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';
import { DatabaseAvailability } from './database-availability';
import { DatabaseWrites } from './database-writes';

async function runMigrations(database: DatabaseConfig): Promise<void> {
  const migrator = new DataSource(
    buildDataSourceOptions({ ...database, migrationsRun: false }, { deadlines: false }),
  );
  await migrator.initialize();
  try {
    await migrator.runMigrations({ transaction: 'each' });
  } finally {
    await migrator.destroy();
  }
}

/**
 * The TypeORM connection (pending migrations run at boot when `DB_MIGRATIONS_RUN` is on) and
 * whether the database answers (DatabaseAvailability), and the one way stores write
 * (DatabaseWrites).
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => {
        // Pending migrations run first, on a connection of their own without the query deadline
        // (a migration may rightly take longer than any request); the app's has the deadlines.
        if (config.database.migrationsRun) await runMigrations(config.database);
        return {
          ...buildDataSourceOptions({ ...config.database, migrationsRun: false }),
          // Fail the boot at once rather than retrying for minutes: the operator sees the cause.
          retryAttempts: 0,
        };
      },
    }),
  ],
  providers: [DatabaseAvailability, DatabaseWrites],
  exports: [DatabaseAvailability, DatabaseWrites],
})
export class DatabaseModule {}
