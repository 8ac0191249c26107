import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';

/** The TypeORM connection; pending migrations run at boot when `DB_MIGRATIONS_RUN` is on. */
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
})
export class DatabaseModule {}
