import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** Claude Code's official 5-hour and 7-day limit figures as its status line reports them. */
export class LimitObservations1795000000006 implements MigrationInterface {
  name = 'LimitObservations1795000000006';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'limit_observations',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'member', type: 'varchar', length: '64' },
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'used_percentage', type: 'double precision', isNullable: true },
          { name: 'resets_at', type: 'bigint', isNullable: true },
          { name: 'observed_at', type: 'bigint' },
          { name: 'seen_at', type: 'bigint' },
          { name: 'session_id', type: 'varchar', length: '128', isNullable: true },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_limit_observations_member_kind',
            columnNames: ['member', 'kind', 'observed_at'],
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('limit_observations');
  }
}
