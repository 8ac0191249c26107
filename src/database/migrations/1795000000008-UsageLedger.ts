import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

const COUNTS = [
  { name: 'input_tokens', type: 'bigint' },
  { name: 'output_tokens', type: 'bigint' },
  { name: 'cache_creation_tokens', type: 'bigint' },
  { name: 'cache_read_tokens', type: 'bigint' },
  { name: 'cost_usd', type: 'double precision' },
];

/** The team ledger (one row per API request) and its roll-ups for reports (docs/design.md §9). */
export class UsageLedger1795000000008 implements MigrationInterface {
  name = 'UsageLedger1795000000008';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'usage_entries',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'entry_key', type: 'varchar', length: '64', isUnique: true },
          { name: 'request_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'source', type: 'varchar', length: '8' },
          { name: 'member', type: 'varchar', length: '64' },
          { name: 'machine', type: 'varchar', length: '128' },
          { name: 'project', type: 'varchar', length: '255' },
          { name: 'session_id', type: 'varchar', length: '255' },
          { name: 'project_path', type: 'varchar', length: '512' },
          { name: 'claude_session', type: 'varchar', length: '128', isNullable: true },
          { name: 'model', type: 'varchar', length: '128' },
          { name: 'ts', type: 'bigint' },
          ...COUNTS,
          { name: 'reported_cost_usd', type: 'double precision', isNullable: true },
          { name: 'attributes', type: 'text', isNullable: true },
          { name: 'received_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({ name: 'IDX_usage_entries_member_ts', columnNames: ['member', 'ts'] }),
          new TableIndex({ name: 'IDX_usage_entries_request', columnNames: ['request_id'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'usage_rollups',
        columns: [
          { name: 'quarter', type: 'bigint', isPrimary: true },
          { name: 'member', type: 'varchar', length: '64', isPrimary: true },
          { name: 'machine', type: 'varchar', length: '128', isPrimary: true },
          { name: 'model', type: 'varchar', length: '128', isPrimary: true },
          { name: 'project', type: 'varchar', length: '255', isPrimary: true },
          ...COUNTS,
          { name: 'entries', type: 'integer' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'usage_team_rollups',
        columns: [
          { name: 'quarter', type: 'bigint', isPrimary: true },
          { name: 'model', type: 'varchar', length: '128', isPrimary: true },
          { name: 'shard', type: 'smallint', isPrimary: true },
          ...COUNTS,
          { name: 'entries', type: 'integer' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'usage_member_activity',
        columns: [
          { name: 'member', type: 'varchar', length: '64', isPrimary: true },
          { name: 'last_ts', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'usage_session_rollups',
        columns: [
          { name: 'member', type: 'varchar', length: '64', isPrimary: true },
          { name: 'machine', type: 'varchar', length: '128', isPrimary: true },
          { name: 'project_path', type: 'varchar', length: '512', isPrimary: true },
          { name: 'session_id', type: 'varchar', length: '255', isPrimary: true },
          { name: 'model', type: 'varchar', length: '128', isPrimary: true },
          { name: 'project', type: 'varchar', length: '255' },
          ...COUNTS,
          { name: 'entries', type: 'integer' },
          { name: 'last_ts', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('usage_session_rollups');
    await queryRunner.dropTable('usage_member_activity');
    await queryRunner.dropTable('usage_team_rollups');
    await queryRunner.dropTable('usage_rollups');
    await queryRunner.dropTable('usage_entries');
  }
}
