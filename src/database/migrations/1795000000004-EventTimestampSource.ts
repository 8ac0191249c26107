import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/**
 * A hook event says where its `timestamp` came from: the sender's clock, or the time it arrived
 * (none was sent, or the sender's was absurd — a timestamp of 1e20 overflowed PostgreSQL's bigint
 * and failed the whole batch). Existing rows keep `sender`, what they were stored as.
 */
export class EventTimestampSource1795000000004 implements MigrationInterface {
  name = 'EventTimestampSource1795000000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'hook_events',
      new TableColumn({
        name: 'timestamp_source',
        type: 'varchar',
        length: '16',
        isNullable: false,
        default: "'sender'",
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('hook_events', 'timestamp_source');
  }
}
