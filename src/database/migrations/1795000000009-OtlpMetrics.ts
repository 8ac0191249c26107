import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** Claude Code's OTLP counters per member per minute, and what makes them count once. */
export class OtlpMetrics1795000000009 implements MigrationInterface {
  name = 'OtlpMetrics1795000000009';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'usage_metric_minutes',
        columns: [
          { name: 'member', type: 'varchar', length: '64', isPrimary: true },
          { name: 'minute', type: 'bigint', isPrimary: true },
          { name: 'metric', type: 'varchar', length: '64', isPrimary: true },
          { name: 'label', type: 'varchar', length: '200', isPrimary: true },
          { name: 'value', type: 'double precision' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'otlp_points',
        columns: [
          { name: 'point_key', type: 'varchar', length: '64', isPrimary: true },
          { name: 'received_at', type: 'bigint' },
        ],
        indices: [
          new TableIndex({ name: 'IDX_otlp_points_received_at', columnNames: ['received_at'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'otlp_series',
        columns: [
          { name: 'series_key', type: 'varchar', length: '64', isPrimary: true },
          { name: 'start_ns', type: 'varchar', length: '24' },
          { name: 'time_ns', type: 'varchar', length: '24' },
          { name: 'value', type: 'double precision' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('otlp_series');
    await queryRunner.dropTable('otlp_points');
    await queryRunner.dropTable('usage_metric_minutes');
  }
}
