import { type MigrationInterface, type QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * Domain events (POST /api/broadcasts, the GitHub webhook) are stored with the hook events so
 * they share one id sequence — the replay cursor — and carry the room they were sent to.
 * Hook events have no room.
 */
export class DomainEvents1795000000001 implements MigrationInterface {
  name = 'DomainEvents1795000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'hook_events',
      new TableColumn({ name: 'room', type: 'varchar', length: '200', isNullable: true }),
    );
    await queryRunner.createIndex(
      'hook_events',
      new TableIndex({ name: 'IDX_hook_events_room', columnNames: ['room', 'id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('hook_events', 'IDX_hook_events_room');
    await queryRunner.dropColumn('hook_events', 'room');
  }
}
