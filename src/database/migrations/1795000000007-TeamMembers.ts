import { type MigrationInterface, type QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/** Team members and their (hashed) tokens; a hook event names the member that sent it. */
export class TeamMembers1795000000007 implements MigrationInterface {
  name = 'TeamMembers1795000000007';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'team_members',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'name', type: 'varchar', length: '64', isUnique: true },
          { name: 'email', type: 'varchar', length: '254', isNullable: true },
          { name: 'token_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'token_hint', type: 'varchar', length: '16' },
          { name: 'created_at', type: 'bigint' },
          { name: 'revoked_at', type: 'bigint', isNullable: true },
        ],
      }),
    );
    await queryRunner.addColumn(
      'hook_events',
      new TableColumn({ name: 'member', type: 'varchar', length: '64', isNullable: true }),
    );
    await queryRunner.createIndex(
      'hook_events',
      new TableIndex({ name: 'IDX_hook_events_member', columnNames: ['member', 'id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('hook_events', 'IDX_hook_events_member');
    await queryRunner.dropColumn('hook_events', 'member');
    await queryRunner.dropTable('team_members');
  }
}
