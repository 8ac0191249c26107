import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/load-config';
import { buildDataSourceOptions } from './src/database/data-source-options';

/**
 * The DataSource for the TypeORM CLI (`npm run migration:run`, `migration:generate`): without the
 * query deadline, as a migration may take longer than a request.
 */
export default new DataSource(buildDataSourceOptions(loadConfig().database, { deadlines: false }));
