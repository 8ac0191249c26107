import { type MigrationInterface, type QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * Official limits of other agents beside Claude Code's (docs/agents.md): an observation says whose
 * agent reported it (`agent`; the rows so far are Claude Code's), and the latest-figure index
 * keys on it.
 */
export class AgentLimits1795000000014 implements MigrationInterface {
  name = 'AgentLimits1795000000014';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'limit_observations',
      new TableColumn({ name: 'agent', type: 'varchar', length: '16', default: "'claude'" }),
    );
    await queryRunner.dropIndex('limit_observations', 'IDX_limit_observations_member_kind');
    await queryRunner.createIndex(
      'limit_observations',
      new TableIndex({
        name: 'IDX_limit_observations_member_agent_kind',
        columnNames: ['member', 'agent', 'kind', 'observed_at'],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM limit_observations WHERE agent <> 'claude'`);
    await queryRunner.dropIndex('limit_observations', 'IDX_limit_observations_member_agent_kind');
    await queryRunner.createIndex(
      'limit_observations',
      new TableIndex({
        name: 'IDX_limit_observations_member_kind',
        columnNames: ['member', 'kind', 'observed_at'],
      }),
    );
    await queryRunner.dropColumn('limit_observations', 'agent');
  }
}
