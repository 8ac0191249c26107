import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** Alerts (docs/design.md §8): stored once per key — the unique index is the cluster-wide "sent once". */
export class Alerts1795000000003 implements MigrationInterface {
  name = 'Alerts1795000000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'alerts',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'key', type: 'varchar', length: '200' },
          { name: 'type', type: 'varchar', length: '32' },
          { name: 'severity', type: 'varchar', length: '16' },
          { name: 'title', type: 'varchar', length: '200' },
          { name: 'text', type: 'text' },
          { name: 'data', type: 'text' },
          { name: 'created_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({ name: 'IDX_alerts_key', columnNames: ['key'], isUnique: true }),
          new TableIndex({ name: 'IDX_alerts_created_at', columnNames: ['created_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('alerts');
  }
}
