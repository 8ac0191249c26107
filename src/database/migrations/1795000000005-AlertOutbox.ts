import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * The alert outbox: one row per alert and webhook URL, written with the alert, worked until it
 * is acknowledged or too old. Alerts stored before it have no rows: they were sent (or dropped)
 * by the old at-most-once sender.
 */
export class AlertOutbox1795000000005 implements MigrationInterface {
  name = 'AlertOutbox1795000000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'alert_deliveries',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'alert_id', type: 'integer' },
          { name: 'url_hash', type: 'varchar', length: '64' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'integer', default: 0 },
          { name: 'next_attempt_at', type: 'bigint' },
          { name: 'claimed_until', type: 'bigint', default: 0 },
          { name: 'last_error', type: 'varchar', length: '200', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'sent_at', type: 'bigint', isNullable: true },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_alert_deliveries_due',
            columnNames: ['status', 'next_attempt_at'],
          }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('alert_deliveries');
  }
}
