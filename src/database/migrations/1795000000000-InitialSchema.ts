import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * Snapshots, the usage config and hook events. Written with TypeORM's schema builder rather than
 * raw SQL so the one migration runs unchanged on SQLite and PostgreSQL.
 */
export class InitialSchema1795000000000 implements MigrationInterface {
  name = 'InitialSchema1795000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'usage_snapshots',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'kind', type: 'varchar', length: '32' },
          { name: 'params_key', type: 'varchar', length: '512' },
          { name: 'payload', type: 'text' },
          { name: 'payload_hash', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_usage_snapshots_lookup',
            columnNames: ['kind', 'params_key', 'created_at'],
          }),
          new TableIndex({ name: 'IDX_usage_snapshots_created_at', columnNames: ['created_at'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'usage_config',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true },
          { name: 'plan', type: 'varchar', length: '16' },
          { name: 'custom_limit_tokens', type: 'integer', isNullable: true },
          { name: 'timezone', type: 'varchar', length: '64' },
          { name: 'reset_hour', type: 'integer', isNullable: true },
          { name: 'theme', type: 'varchar', length: '16' },
          { name: 'pending_push', type: 'boolean' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'hook_events',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'source_app', type: 'varchar', length: '128' },
          { name: 'session_id', type: 'varchar', length: '128' },
          { name: 'hook_event_type', type: 'varchar', length: '64' },
          { name: 'tool_name', type: 'varchar', length: '128', isNullable: true },
          { name: 'tool_use_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'agent_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'payload', type: 'text' },
          { name: 'timestamp', type: 'bigint' },
          { name: 'received_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({ name: 'IDX_hook_events_session', columnNames: ['session_id', 'id'] }),
          new TableIndex({ name: 'IDX_hook_events_source_app', columnNames: ['source_app', 'id'] }),
          new TableIndex({ name: 'IDX_hook_events_type', columnNames: ['hook_event_type', 'id'] }),
          new TableIndex({ name: 'IDX_hook_events_tool_use', columnNames: ['tool_use_id'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('hook_events');
    await queryRunner.dropTable('usage_config');
    await queryRunner.dropTable('usage_snapshots');
  }
}
