import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';
import { DatabaseAvailability } from './database-availability';
import { DatabaseWrites } from './database-writes';

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
      useFactory: (config: AppConfig) => ({
        ...buildDataSourceOptions(config.database),
        // Fail the boot at once rather than retrying for minutes: the operator sees the cause.
        retryAttempts: 0,
      }),
    }),
  ],
  providers: [DatabaseAvailability, DatabaseWrites],
  exports: [DatabaseAvailability, DatabaseWrites],
})
export class DatabaseModule {}
