import {
  type MigrationInterface,
  type QueryRunner,
  Table,
  TableColumn,
  TableIndex,
  type TableColumnOptions,
} from 'typeorm';

const SUMS: TableColumnOptions[] = [
  { name: 'input_tokens', type: 'bigint' },
  { name: 'output_tokens', type: 'bigint' },
  { name: 'cache_creation_tokens', type: 'bigint' },
  { name: 'cache_read_tokens', type: 'bigint' },
  { name: 'cost_usd', type: 'double precision' },
  { name: 'entries', type: 'integer' },
];
const NEW_SUMS: TableColumnOptions[] = [
  { name: 'reasoning_tokens', type: 'bigint', default: 0 },
  { name: 'extra_tokens', type: 'bigint', default: 0 },
];
const AGENT: TableColumnOptions = {
  name: 'agent',
  type: 'varchar',
  length: '16',
  isPrimary: true,
  default: "'claude'",
};

interface Rollup {
  readonly table: string;
  /** Its key before this migration (the agent joins it). */
  readonly key: TableColumnOptions[];
  readonly other?: TableColumnOptions[];
  readonly indices?: { name: string; columnNames: string[] }[];
}

const quarter = { name: 'quarter', type: 'bigint', isPrimary: true };
const member = { name: 'member', type: 'varchar', length: '64', isPrimary: true };
const machine = { name: 'machine', type: 'varchar', length: '128', isPrimary: true };
const model = { name: 'model', type: 'varchar', length: '128', isPrimary: true };

const ROLLUPS: readonly Rollup[] = [
  {
    table: 'usage_rollups',
    key: [
      quarter,
      member,
      machine,
      model,
      { name: 'project', type: 'varchar', length: '255', isPrimary: true },
    ],
  },
  {
    table: 'usage_team_rollups',
    key: [quarter, model, { name: 'shard', type: 'smallint', isPrimary: true }],
  },
  {
    table: 'usage_member_rollups',
    key: [quarter, member, model],
    indices: [{ name: 'IDX_usage_member_rollups_member', columnNames: ['member', 'quarter'] }],
  },
  {
    table: 'usage_session_rollups',
    key: [
      member,
      machine,
      { name: 'project_path', type: 'varchar', length: '512', isPrimary: true },
      { name: 'session_id', type: 'varchar', length: '255', isPrimary: true },
      model,
    ],
    other: [
      { name: 'project', type: 'varchar', length: '255' },
      { name: 'first_ts', type: 'bigint', default: 0 },
      { name: 'last_ts', type: 'bigint' },
    ],
  },
];

/**
 * Every coding agent (docs/agents.md): a ledger row says whose agent it is (`agent`: rows stored so
 * far are Claude Code's), with the reasoning the agent reported and the tokens counted in the total
 * that no column shows (`extra_tokens`: Gemini's thoughts, OpenCode's reasoning); every roll-up keys
 * on the agent too. A primary key cannot change in place in SQLite, so each roll-up is built
 * again: renamed aside, created with the agent in its key, its rows copied as Claude Code's.
 */
export class AgentDimension1795000000013 implements MigrationInterface {
  name = 'AgentDimension1795000000013';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('usage_entries', [
      new TableColumn({ name: 'agent', type: 'varchar', length: '16', default: "'claude'" }),
      ...NEW_SUMS.map((c) => new TableColumn(c)),
    ]);
    for (const rollup of ROLLUPS) {
      const columns = rollup.key.map((c) => c.name);
      const copied = [
        ...columns,
        ...(rollup.other ?? []).map((c) => c.name),
        ...SUMS.map((c) => c.name),
      ];
      await rebuild(
        queryRunner,
        rollup,
        [
          rollup.key[0],
          AGENT,
          ...rollup.key.slice(1),
          ...(rollup.other ?? []),
          ...SUMS,
          ...NEW_SUMS,
        ],
        `INSERT INTO ${rollup.table} (${copied.join(', ')}, agent) SELECT ${copied.join(', ')}, 'claude' FROM ${rollup.table}_old`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Only Claude Code's usage has a place without the agent: the other agents' rows go.
    for (const rollup of ROLLUPS) {
      const copied = [
        ...rollup.key.map((c) => c.name),
        ...(rollup.other ?? []).map((c) => c.name),
        ...SUMS.map((c) => c.name),
      ];
      await rebuild(
        queryRunner,
        rollup,
        [...rollup.key, ...(rollup.other ?? []), ...SUMS],
        `INSERT INTO ${rollup.table} (${copied.join(', ')}) SELECT ${copied.join(', ')} ` +
          `FROM ${rollup.table}_old WHERE agent = 'claude'`,
      );
    }
    await queryRunner.query(`DELETE FROM usage_entries WHERE agent <> 'claude'`);
    for (const column of ['extra_tokens', 'reasoning_tokens', 'agent'])
      await queryRunner.dropColumn('usage_entries', column);
  }
}

/** A roll-up table again with these columns, filled by `copy` from its former self (`<table>_old`). */
async function rebuild(
  queryRunner: QueryRunner,
  rollup: Rollup,
  columns: TableColumnOptions[],
  copy: string,
): Promise<void> {
  for (const index of rollup.indices ?? []) await queryRunner.dropIndex(rollup.table, index.name);
  await queryRunner.renameTable(rollup.table, `${rollup.table}_old`);
  await queryRunner.createTable(
    new Table({
      name: rollup.table,
      columns,
      indices: (rollup.indices ?? []).map((index) => new TableIndex(index)),
    }),
  );
  await queryRunner.query(copy);
  await queryRunner.dropTable(`${rollup.table}_old`);
}
