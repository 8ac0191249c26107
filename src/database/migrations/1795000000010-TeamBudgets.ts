import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** Spending budgets per member or for the whole team (docs/design.md §9). */
export class TeamBudgets1795000000010 implements MigrationInterface {
  name = 'TeamBudgets1795000000010';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'team_budgets',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'member', type: 'varchar', length: '64' },
          { name: 'period', type: 'varchar', length: '8' },
          { name: 'usd', type: 'double precision' },
          { name: 'timezone', type: 'varchar', length: '64', default: "'UTC'" },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_team_budgets_scope',
            columnNames: ['member', 'period'],
            isUnique: true,
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('team_budgets');
  }
}
