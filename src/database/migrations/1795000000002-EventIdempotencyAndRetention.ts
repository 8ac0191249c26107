import { type MigrationInterface, type QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * A sender that never saw its 201 resends with the same `Idempotency-Key`: the key is stored
 * under a unique index so the resend finds the first copy instead of storing a second one.
 * Retention prunes by `received_at`, which needs an index to find old rows without a scan.
 */
export class EventIdempotencyAndRetention1795000000002 implements MigrationInterface {
  name = 'EventIdempotencyAndRetention1795000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'hook_events',
      new TableColumn({
        name: 'idempotency_key',
        type: 'varchar',
        length: '128',
        isNullable: true,
      }),
    );
    await queryRunner.createIndex(
      'hook_events',
      new TableIndex({
        name: 'IDX_hook_events_idempotency',
        columnNames: ['idempotency_key'],
        isUnique: true,
      }),
    );
    await queryRunner.createIndex(
      'hook_events',
      new TableIndex({ name: 'IDX_hook_events_received_at', columnNames: ['received_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('hook_events', 'IDX_hook_events_received_at');
    await queryRunner.dropIndex('hook_events', 'IDX_hook_events_idempotency');
    await queryRunner.dropColumn('hook_events', 'idempotency_key');
  }
}
