import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * Budgets that stop spend (docs/proxy.md): a budget may be enforced on the proxy's requests, and
 * a request in flight holds its estimate against it (`proxy_reservations`).
 */
export class EnforcedBudgets1795000000016 implements MigrationInterface {
  name = 'EnforcedBudgets1795000000016';

  async up(queryRunner: QueryRunner): Promise<void> {
    // A column default is SQL: false is spelled 0 in SQLite.
    const no = queryRunner.connection.options.type === 'postgres' ? 'false' : '0';
    await queryRunner.addColumn(
      'team_budgets',
      new TableColumn({ name: 'enforce', type: 'boolean', default: no }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'proxy_reservations',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'request', type: 'varchar', length: '36' },
          { name: 'budget_id', type: 'integer' },
          { name: 'usd', type: 'double precision' },
          { name: 'expires_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_proxy_reservations_budget',
            columnNames: ['budget_id', 'expires_at'],
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('proxy_reservations');
    await queryRunner.dropColumn('team_budgets', 'enforce');
  }
}
