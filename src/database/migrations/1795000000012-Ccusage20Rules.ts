import { type MigrationInterface, type QueryRunner, TableColumn, TableIndex } from 'typeorm';

const SUMS = 'input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd';
const SESSION_KEY = 'member, machine, project_path, session_id, model';

/**
 * The ledger under ccusage 20's rules (docs/bridge.md, "The rules of the numbers"):
 * - each row keeps its `message.id` and whether it is a side-chain line: a message without a
 *   requestId is keyed by its id alone, and a /btw replay is matched on it;
 * - a session is Claude Code's session (its sub-agents' files count in it): pushed rows of a
 *   known Claude Code session take its id, their project folder the project path (ccusage 18
 *   named the file's folder instead);
 * - the session roll-up keeps the first activity beside the last, rebuilt from the entries.
 *
 * What it cannot do: rows pushed before it never stored their message id (only a hash of the
 * key), so lines of one message without a requestId that were stored as several rows cannot be
 * found here. They are merged when their lines are pushed again: a pushed line names the places
 * of its message's other lines, and the ledger replaces their rows (LedgerStore).
 */
export class Ccusage20Rules1795000000012 implements MigrationInterface {
  name = 'Ccusage20Rules1795000000012';

  async up(queryRunner: QueryRunner): Promise<void> {
    // A column default is SQL: false is spelled 0 in SQLite.
    const no = queryRunner.connection.options.type === 'postgres' ? 'false' : '0';
    await queryRunner.addColumns('usage_entries', [
      new TableColumn({ name: 'message_id', type: 'varchar', length: '128', isNullable: true }),
      new TableColumn({ name: 'sidechain', type: 'boolean', default: no }),
    ]);
    await queryRunner.createIndex(
      'usage_entries',
      new TableIndex({ name: 'IDX_usage_entries_message', columnNames: ['message_id'] }),
    );
    await queryRunner.query(
      `UPDATE usage_entries SET session_id = claude_session, project_path = project ` +
        `WHERE source IN ('push', 'local') AND claude_session IS NOT NULL`,
    );
    await queryRunner.addColumn(
      'usage_session_rollups',
      new TableColumn({ name: 'first_ts', type: 'bigint', default: 0 }),
    );
    await rebuildSessions(queryRunner, true);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // ccusage 18's session of Claude Code's `projects/<project>/<uuid>.jsonl` (a sub-agent's own
    // folder cannot be told apart any more: it joins its parent's project folder).
    await queryRunner.query(
      `UPDATE usage_entries SET session_id = project, project_path = 'Unknown Project' ` +
        `WHERE source IN ('push', 'local') AND claude_session IS NOT NULL`,
    );
    await queryRunner.dropColumn('usage_session_rollups', 'first_ts');
    await rebuildSessions(queryRunner, false);
    await queryRunner.dropIndex('usage_entries', 'IDX_usage_entries_message');
    await queryRunner.dropColumn('usage_entries', 'sidechain');
    await queryRunner.dropColumn('usage_entries', 'message_id');
  }
}

/** The session roll-up again from the entries. */
async function rebuildSessions(queryRunner: QueryRunner, firstTs: boolean): Promise<void> {
  await queryRunner.query('DELETE FROM usage_session_rollups');
  await queryRunner.query(
    `INSERT INTO usage_session_rollups (${SESSION_KEY}, project, ${SUMS}, entries, ` +
      `${firstTs ? 'first_ts, ' : ''}last_ts) ` +
      `SELECT ${SESSION_KEY}, MAX(project), SUM(input_tokens), SUM(output_tokens), ` +
      `SUM(cache_creation_tokens), SUM(cache_read_tokens), SUM(cost_usd), COUNT(*), ` +
      `${firstTs ? 'MIN(ts), ' : ''}MAX(ts) FROM usage_entries GROUP BY ${SESSION_KEY}`,
  );
}
