import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

const SUMS = [
  'input_tokens',
  'output_tokens',
  'cache_creation_tokens',
  'cache_read_tokens',
  'cost_usd',
  'entries',
  'reasoning_tokens',
  'extra_tokens',
];

/**
 * The member roll-up per UTC day as well (reports by member read a row per member, model and day
 * instead of one per quarter hour: docs/team.md "Reports by member"), filled from the member
 * roll-up's quarters (96 to a day).
 */
export class MemberDays1795000000015 implements MigrationInterface {
  name = 'MemberDays1795000000015';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'usage_member_days',
        columns: [
          { name: 'day', type: 'bigint', isPrimary: true },
          { name: 'agent', type: 'varchar', length: '16', isPrimary: true, default: "'claude'" },
          { name: 'member', type: 'varchar', length: '64', isPrimary: true },
          { name: 'model', type: 'varchar', length: '128', isPrimary: true },
          { name: 'input_tokens', type: 'bigint' },
          { name: 'output_tokens', type: 'bigint' },
          { name: 'cache_creation_tokens', type: 'bigint' },
          { name: 'cache_read_tokens', type: 'bigint' },
          { name: 'cost_usd', type: 'double precision' },
          { name: 'entries', type: 'integer' },
          { name: 'reasoning_tokens', type: 'bigint', default: 0 },
          { name: 'extra_tokens', type: 'bigint', default: 0 },
        ],
        indices: [
          new TableIndex({ name: 'IDX_usage_member_days_member', columnNames: ['member', 'day'] }),
        ],
      }),
    );
    await queryRunner.query(
      `INSERT INTO usage_member_days (day, agent, member, model, ${SUMS.join(', ')}) ` +
        `SELECT quarter / 96, agent, member, model, ${SUMS.map((c) => `SUM(${c})`).join(', ')} ` +
        'FROM usage_member_rollups GROUP BY quarter / 96, agent, member, model',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('usage_member_days');
  }
}
