import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { MIGRATIONS } from '../src/database/migrations';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

async function describeSchema(ds: DataSource): Promise<string> {
  const runner = ds.createQueryRunner();
  try {
    const tables = await runner.getTables(['usage_snapshots', 'usage_config', 'hook_events']);
    return JSON.stringify(
      tables.map((t) => ({
        name: t.name,
        columns: t.columns.map((c) => `${c.name}:${c.type}:${c.isNullable}`).sort(),
        indices: t.indices.map((i) => i.name).sort(),
      })),
    );
  } finally {
    await runner.release();
  }
}

describe.each(databaseKinds())('migrations on %s', (kind) => {
  let db: TestDatabase | undefined;
  let ds: DataSource | undefined;

  afterEach(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('create the schema on an empty database, and a second run changes nothing', async () => {
    db = await createTestDatabase(kind);
    const config = loadConfig({ ...db.env, DB_MIGRATIONS_RUN: 'false' });
    ds = new DataSource(buildDataSourceOptions(config.database));
    await ds.initialize();

    const first = await ds.runMigrations();
    expect(first.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => new m().name));
    const schema = await describeSchema(ds);
    expect(schema).toContain('hook_events');
    expect(schema).toContain('IDX_usage_snapshots_lookup');

    const second = await ds.runMigrations();
    expect(second).toEqual([]);
    expect(await describeSchema(ds)).toBe(schema);
    expect(await ds.showMigrations()).toBe(false);

    // The entities describe exactly what the migrations built: nothing left to generate.
    const pending = await ds.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });
});

describe('the TypeORM CLI (ormconfig.ts)', () => {
  let db: TestDatabase | undefined;
  afterEach(async () => db?.drop());

  it('runs migrations and finds nothing to generate afterwards', async () => {
    db = await createTestDatabase('sqlite');
    const env = { ...process.env, ...db.env, LOG_LEVEL: 'silent' };
    const migrate = await run('npm', ['run', '--silent', 'migration:run'], { cwd: ROOT, env });
    for (const migration of MIGRATIONS)
      expect(migrate.stdout).toContain(`${new migration().name} has been executed successfully`);

    const again = await run('npm', ['run', '--silent', 'migration:run'], { cwd: ROOT, env });
    expect(again.stdout).toContain('No migrations are pending');

    const check = await run('npm', ['run', '--silent', 'migration:check'], { cwd: ROOT, env });
    expect(check.stdout).toContain('No changes in database schema were found');
  }, 60_000);
});
