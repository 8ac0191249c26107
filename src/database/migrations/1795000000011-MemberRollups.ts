import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

const SUMS = [
  { name: 'input_tokens', type: 'bigint' },
  { name: 'output_tokens', type: 'bigint' },
  { name: 'cache_creation_tokens', type: 'bigint' },
  { name: 'cache_read_tokens', type: 'bigint' },
  { name: 'cost_usd', type: 'double precision' },
  { name: 'entries', type: 'integer' },
];
const SUM_LIST = SUMS.map((c) => c.name).join(', ');
const SUM_OF = SUMS.map((c) => `SUM(${c.name})`).join(', ');

/**
 * The ledger's sums per quarter × member × model (the team summary, budgets and reports by
 * member read these instead of the full roll-up), and each member's last request per machine
 * (replacing the per-member one: its machines come from it too). Both filled from what is stored.
 */
export class MemberRollups1795000000011 implements MigrationInterface {
  name = 'MemberRollups1795000000011';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'usage_member_rollups',
        columns: [
          { name: 'quarter', type: 'bigint', isPrimary: true },
          { name: 'member', type: 'varchar', length: '64', isPrimary: true },
          { name: 'model', type: 'varchar', length: '128', isPrimary: true },
          ...SUMS,
        ],
        indices: [
          new TableIndex({
            name: 'IDX_usage_member_rollups_member',
            columnNames: ['member', 'quarter'],
          }),
        ],
      }),
    );
    await queryRunner.query(
      `INSERT INTO usage_member_rollups (quarter, member, model, ${SUM_LIST}) ` +
        `SELECT quarter, member, model, ${SUM_OF} FROM usage_rollups GROUP BY quarter, member, model`,
    );
    await queryRunner.createTable(
      new Table({
        name: 'usage_machine_activity',
        columns: [
          { name: 'member', type: 'varchar', length: '64', isPrimary: true },
          { name: 'machine', type: 'varchar', length: '128', isPrimary: true },
          { name: 'last_ts', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.query(
      'INSERT INTO usage_machine_activity (member, machine, last_ts) ' +
        'SELECT member, machine, MAX(ts) FROM usage_entries GROUP BY member, machine',
    );
    await queryRunner.dropTable('usage_member_activity');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'usage_member_activity',
        columns: [
          { name: 'member', type: 'varchar', length: '64', isPrimary: true },
          { name: 'last_ts', type: 'bigint' },
        ],
      }),
    );
    await queryRunner.query(
      'INSERT INTO usage_member_activity (member, last_ts) ' +
        'SELECT member, MAX(last_ts) FROM usage_machine_activity GROUP BY member',
    );
    await queryRunner.dropTable('usage_machine_activity');
    await queryRunner.dropTable('usage_member_rollups');
  }
}
