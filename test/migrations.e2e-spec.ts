import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { MIGRATIONS } from '../src/database/migrations';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

/** The migrations up to and including `name`. */
const upTo = (name: string) => {
  const at = MIGRATIONS.findIndex((m) => new m().name === name);
  expect(at).toBeGreaterThanOrEqual(0);
  return MIGRATIONS.slice(0, at + 1);
};

async function describeSchema(ds: DataSource): Promise<string> {
  const runner = ds.createQueryRunner();
  try {
    const tables = await runner.getTables(['usage_snapshots', 'usage_config', 'hook_events']);
    return JSON.stringify(
      tables.map((t) => ({
        name: t.name,
        columns: t.columns.map((c) => `${c.name}:${c.type}:${c.isNullable}`).sort(),
        indices: t.indices.map((i) => i.name).sort(),
      })),
    );
  } finally {
    await runner.release();
  }
}

describe.each(databaseKinds())('migrations on %s', (kind) => {
  let db: TestDatabase | undefined;
  let ds: DataSource | undefined;

  afterEach(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  it('create the schema on an empty database, and a second run changes nothing', async () => {
    db = await createTestDatabase(kind);
    const config = loadConfig({ ...db.env, DB_MIGRATIONS_RUN: 'false' });
    ds = new DataSource(buildDataSourceOptions(config.database));
    await ds.initialize();

    const first = await ds.runMigrations();
    expect(first.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => new m().name));
    const schema = await describeSchema(ds);
    expect(schema).toContain('hook_events');
    expect(schema).toContain('IDX_usage_snapshots_lookup');

    const second = await ds.runMigrations();
    expect(second).toEqual([]);
    expect(await describeSchema(ds)).toBe(schema);
    expect(await ds.showMigrations()).toBe(false);

    // The entities describe exactly what the migrations built: nothing left to generate.
    const pending = await ds.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('11 (member roll-ups) fills its tables from a ledger stored before it, and down gives it back', async () => {
    db = await createTestDatabase(kind);
    const config = loadConfig({ ...db.env, DB_MIGRATIONS_RUN: 'false' });
    const before = upTo('TeamBudgets1795000000010');
    ds = new DataSource({ ...buildDataSourceOptions(config.database), migrations: before });
    await ds.initialize();
    await ds.runMigrations();
    const q = (i: number) => (kind === 'postgres' ? `$${i}` : '?');
    // Two members, two machines, two models, two projects, as migration 10's ledger kept them.
    const rows = [
      ['alice', 'laptop', 'sonnet', 'p1', 1_000_000, 10, 1.5],
      ['alice', 'desk', 'sonnet', 'p2', 1_000_100, 20, 2.5],
      ['alice', 'desk', 'opus', 'p2', 1_900_000, 30, 3.5],
      ['bob', 'box', 'sonnet', 'p1', 1_000_200, 40, 4.5],
    ] as const;
    for (const [member, machine, model, project, ts, tokens, cost] of rows) {
      await ds.query(
        `INSERT INTO usage_entries (entry_key, request_id, source, member, machine, project, session_id, project_path, claude_session, model, ts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, reported_cost_usd, attributes, received_at) VALUES (${[1, 2, 3, 4, 5, 6, 7, 8].map(q).join(', ')}, NULL, ${q(9)}, ${q(10)}, ${q(11)}, 0, 0, 0, ${q(12)}, NULL, NULL, 0)`,
        [
          `${member}${ts}`,
          `r${ts}`,
          'push',
          member,
          machine,
          project,
          's',
          'Unknown Project',
          model,
          ts * 900_000,
          tokens,
          cost,
        ],
      );
      await ds.query(
        `INSERT INTO usage_rollups (quarter, member, machine, model, project, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, entries) VALUES (${[1, 2, 3, 4, 5, 6].map(q).join(', ')}, 0, 0, 0, ${q(7)}, 1)`,
        [ts, member, machine, model, project, tokens, cost],
      );
    }
    await ds.query(
      `INSERT INTO usage_member_activity (member, last_ts) VALUES ('alice', ${1_900_000 * 900_000}), ('bob', ${1_000_200 * 900_000})`,
    );
    await ds.destroy();

    ds = new DataSource({
      ...buildDataSourceOptions(config.database),
      migrations: upTo('MemberRollups1795000000011'),
    });
    await ds.initialize();
    expect((await ds.runMigrations()).map((m) => m.name)).toEqual(['MemberRollups1795000000011']);
    const members = (await ds.query(
      'SELECT quarter, member, model, input_tokens, cost_usd, entries FROM usage_member_rollups ORDER BY member, quarter, model',
    )) as Record<string, unknown>[];
    expect(
      members.map((r) => [
        Number(r.quarter),
        r.member,
        r.model,
        Number(r.input_tokens),
        Number(r.cost_usd),
        Number(r.entries),
      ]),
    ).toEqual([
      [1_000_000, 'alice', 'sonnet', 10, 1.5, 1],
      [1_000_100, 'alice', 'sonnet', 20, 2.5, 1],
      [1_900_000, 'alice', 'opus', 30, 3.5, 1],
      [1_000_200, 'bob', 'sonnet', 40, 4.5, 1],
    ]);
    const machines = (await ds.query(
      'SELECT member, machine, last_ts FROM usage_machine_activity ORDER BY member, machine',
    )) as Record<string, unknown>[];
    expect(machines.map((r) => [r.member, r.machine, Number(r.last_ts)])).toEqual([
      ['alice', 'desk', 1_900_000 * 900_000],
      ['alice', 'laptop', 1_000_000 * 900_000],
      ['bob', 'box', 1_000_200 * 900_000],
    ]);

    await ds.undoLastMigration();
    const activity = (await ds.query(
      'SELECT member, last_ts FROM usage_member_activity ORDER BY member',
    )) as Record<string, unknown>[];
    expect(activity.map((r) => [r.member, Number(r.last_ts)])).toEqual([
      ['alice', 1_900_000 * 900_000],
      ['bob', 1_000_200 * 900_000],
    ]);
  });

  it('12 (ccusage 20) names sessions as Claude Code does, rebuilds their roll-up with first and last activity, and down gives the old names back', async () => {
    db = await createTestDatabase(kind);
    const config = loadConfig({ ...db.env, DB_MIGRATIONS_RUN: 'false' });
    ds = new DataSource({
      ...buildDataSourceOptions(config.database),
      migrations: upTo('MemberRollups1795000000011'),
    });
    await ds.initialize();
    await ds.runMigrations();
    const q = (i: number) => (kind === 'postgres' ? `$${i}` : '?');
    const HOUR = 3_600_000;
    // As migration 11's ledger kept them (ccusage 18's sessions): Claude Code's session uuid-1
    // in project -p (its transcript, and a sub-agent's file in its folder), an OTLP row of
    // session uuid-2, and alice's line of another project.
    const rows = [
      ['k1', 'push', 'alice', '-p', '-p', 'Unknown Project', 'uuid-1', 10 * HOUR, 100, 1.5],
      ['k2', 'push', 'alice', '-p', '-p', 'Unknown Project', 'uuid-1', 12 * HOUR, 200, 2.5],
      ['k3', 'push', 'alice', '-p', 'subagents', '-p/uuid-1', 'uuid-1', 11 * HOUR, 40, 0.5],
      ['k4', 'otlp', 'alice', 'unknown', 'uuid-2', 'Unknown Project', 'uuid-2', 13 * HOUR, 7, 0.1],
      ['k5', 'local', 'bob', '-q', '-q', 'Unknown Project', 'uuid-3', 14 * HOUR, 9, 0.2],
    ] as const;
    for (const [key, source, member, project, session, path, claude, ts, tokens, cost] of rows) {
      await ds.query(
        `INSERT INTO usage_entries (entry_key, request_id, source, member, machine, project, session_id, project_path, claude_session, model, ts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, reported_cost_usd, attributes, received_at) VALUES (${[1, 2, 3, 4, 5, 6, 7, 8, 9].map(q).join(', ')}, 'sonnet', ${q(10)}, ${q(11)}, 0, 0, 0, ${q(12)}, NULL, NULL, 0)`,
        [
          key,
          `r-${key}`,
          source,
          member,
          'laptop',
          project,
          session,
          path,
          claude,
          ts,
          tokens,
          cost,
        ],
      );
      await ds.query(
        `INSERT INTO usage_session_rollups (member, machine, project_path, session_id, model, project, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, entries, last_ts) VALUES (${[1, 2, 3, 4].map(q).join(', ')}, 'sonnet', ${q(5)}, ${q(6)}, 0, 0, 0, ${q(7)}, 1, ${q(8)}) ` +
          `ON CONFLICT (member, machine, project_path, session_id, model) DO UPDATE SET input_tokens = usage_session_rollups.input_tokens + excluded.input_tokens, cost_usd = usage_session_rollups.cost_usd + excluded.cost_usd, entries = usage_session_rollups.entries + 1, last_ts = excluded.last_ts`,
        [member, 'laptop', path, session, project, tokens, cost, ts],
      );
    }
    await ds.destroy();

    ds = new DataSource({
      ...buildDataSourceOptions(config.database),
      migrations: upTo('Ccusage20Rules1795000000012'),
    });
    await ds.initialize();
    expect((await ds.runMigrations()).map((m) => m.name)).toEqual(['Ccusage20Rules1795000000012']);
    const sessions = async (times: boolean) =>
      (
        (await ds!.query(
          `SELECT member, project_path, session_id, input_tokens, cost_usd, entries, ${times ? 'first_ts, ' : ''}last_ts FROM usage_session_rollups ORDER BY member, session_id`,
        )) as Record<string, unknown>[]
      ).map((r) =>
        Object.values(r).map((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v)),
      );
    expect(await sessions(true)).toEqual([
      ['alice', '-p', 'uuid-1', 340, 4.5, 3, 10 * HOUR, 12 * HOUR],
      ['alice', 'Unknown Project', 'uuid-2', 7, 0.1, 1, 13 * HOUR, 13 * HOUR],
      ['bob', '-q', 'uuid-3', 9, 0.2, 1, 14 * HOUR, 14 * HOUR],
    ]);
    const entries = (await ds.query(
      'SELECT entry_key, message_id, sidechain FROM usage_entries ORDER BY entry_key',
    )) as { entry_key: string; message_id: null; sidechain: boolean | number }[];
    expect(entries.map((e) => [e.entry_key, e.message_id, Boolean(e.sidechain)])).toEqual(
      rows.map(([key]) => [key, null, false]),
    );

    await ds.undoLastMigration();
    expect(await sessions(false)).toEqual([
      ['alice', 'Unknown Project', '-p', 340, 4.5, 3, 12 * HOUR],
      ['alice', 'Unknown Project', 'uuid-2', 7, 0.1, 1, 13 * HOUR],
      ['bob', 'Unknown Project', '-q', 9, 0.2, 1, 14 * HOUR],
    ]);
  });
  it('13 (every agent) keys every roll-up on the agent, keeps what was stored as Claude Code’s, and down leaves only Claude Code’s', async () => {
    db = await createTestDatabase(kind);
    const config = loadConfig({ ...db.env, DB_MIGRATIONS_RUN: 'false' });
    ds = new DataSource({
      ...buildDataSourceOptions(config.database),
      migrations: upTo('Ccusage20Rules1795000000012'),
    });
    await ds.initialize();
    await ds.runMigrations();
    // What migration 12's ledger held: an entry and its four roll-ups' rows.
    const q = (i: number) => (kind === 'postgres' ? `$${i}` : '?');
    const sums =
      'input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, entries';
    await ds.query(
      `INSERT INTO usage_entries (entry_key, request_id, source, member, machine, project, session_id, project_path, claude_session, model, ts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, reported_cost_usd, attributes, received_at) VALUES ('k1', NULL, 'push', 'alice', 'laptop', '-p', 'uuid-1', '-p', 'uuid-1', 'sonnet', ${q(1)}, 100, 10, 0, 0, 1.5, NULL, NULL, 0)`,
      [1_000_000 * 900_000],
    );
    await ds.query(
      `INSERT INTO usage_rollups (quarter, member, machine, model, project, ${sums}) VALUES (1000000, 'alice', 'laptop', 'sonnet', '-p', 100, 10, 0, 0, 1.5, 1)`,
    );
    await ds.query(
      `INSERT INTO usage_team_rollups (quarter, model, shard, ${sums}) VALUES (1000000, 'sonnet', 3, 100, 10, 0, 0, 1.5, 1)`,
    );
    await ds.query(
      `INSERT INTO usage_member_rollups (quarter, member, model, ${sums}) VALUES (1000000, 'alice', 'sonnet', 100, 10, 0, 0, 1.5, 1)`,
    );
    await ds.query(
      `INSERT INTO usage_session_rollups (member, machine, project_path, session_id, model, project, ${sums}, first_ts, last_ts) VALUES ('alice', 'laptop', '-p', 'uuid-1', 'sonnet', '-p', 100, 10, 0, 0, 1.5, 1, 5, 6)`,
    );
    await ds.destroy();

    ds = new DataSource({
      ...buildDataSourceOptions(config.database),
      migrations: upTo('AgentDimension1795000000013'),
    });
    await ds.initialize();
    expect((await ds.runMigrations()).map((m) => m.name)).toEqual(['AgentDimension1795000000013']);
    const read = async (table: string) =>
      ((await ds!.query(`SELECT * FROM ${table}`)) as Record<string, unknown>[]).map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => [
            k,
            typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v,
          ]),
        ),
      );
    for (const table of [
      'usage_rollups',
      'usage_team_rollups',
      'usage_member_rollups',
      'usage_session_rollups',
    ]) {
      const [row] = await read(table);
      expect(row, table).toMatchObject({
        agent: 'claude',
        input_tokens: 100,
        cost_usd: 1.5,
        entries: 1,
        reasoning_tokens: 0,
        extra_tokens: 0,
      });
    }
    expect((await read('usage_entries'))[0]).toMatchObject({
      agent: 'claude',
      reasoning_tokens: 0,
      extra_tokens: 0,
    });
    // Another agent's row beside it, under the same member, model and quarter: a key of its own.
    await ds.query(
      `INSERT INTO usage_member_rollups (quarter, agent, member, model, ${sums}, reasoning_tokens, extra_tokens) VALUES (1000000, 'codex', 'alice', 'sonnet', 7, 1, 0, 0, 0.1, 1, 0, 0)`,
    );
    await ds.query(
      `INSERT INTO usage_entries (entry_key, request_id, source, agent, member, machine, project, session_id, project_path, claude_session, model, ts, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, reported_cost_usd, attributes, received_at) VALUES ('k2', NULL, 'push', 'codex', 'alice', 'laptop', 'codex', 's', 'x', NULL, 'sonnet', ${q(1)}, 7, 1, 0, 0, 0.1, NULL, NULL, 0)`,
      [1_000_000 * 900_000],
    );
    expect(await read('usage_member_rollups')).toHaveLength(2);

    await ds.undoLastMigration();
    const member = await read('usage_member_rollups');
    expect(member).toHaveLength(1);
    expect(member[0]).not.toHaveProperty('agent');
    expect((await read('usage_entries')).map((e) => e.entry_key)).toEqual(['k1']);
  });
  it('14 (Codex limits) gives each official figure its agent, stored ones Claude Code’s; down leaves only those', async () => {
    db = await createTestDatabase(kind);
    const config = loadConfig({ ...db.env, DB_MIGRATIONS_RUN: 'false' });
    ds = new DataSource({
      ...buildDataSourceOptions(config.database),
      migrations: upTo('AgentDimension1795000000013'),
    });
    await ds.initialize();
    await ds.runMigrations();
    await ds.query(
      `INSERT INTO limit_observations (member, kind, used_percentage, resets_at, observed_at, seen_at, session_id) VALUES ('local', 'five_hour', 42, 2000, 1000, 1000, NULL)`,
    );
    await ds.destroy();
    ds = new DataSource({
      ...buildDataSourceOptions(config.database),
      migrations: upTo('AgentLimits1795000000014'),
    });
    await ds.initialize();
    expect((await ds.runMigrations()).map((m) => m.name)).toEqual(['AgentLimits1795000000014']);
    const rows = async () =>
      (
        (await ds!.query('SELECT * FROM limit_observations ORDER BY id')) as Record<
          string,
          unknown
        >[]
      ).map((r) => [r.agent, r.kind, Number(r.used_percentage)]);
    expect(await rows()).toEqual([['claude', 'five_hour', 42]]);
    await ds.query(
      `INSERT INTO limit_observations (member, agent, kind, used_percentage, resets_at, observed_at, seen_at, session_id) VALUES ('local', 'codex', 'five_hour', 80, 3000, 1500, 1500, NULL)`,
    );
    await ds.undoLastMigration();
    expect(await rows()).toEqual([[undefined, 'five_hour', 42]]);
  });

  it('15 (member days) fills the day roll-up from the member roll-up’s quarters; down drops it', async () => {
    db = await createTestDatabase(kind);
    const config = loadConfig({ ...db.env, DB_MIGRATIONS_RUN: 'false' });
    ds = new DataSource({
      ...buildDataSourceOptions(config.database),
      migrations: upTo('AgentLimits1795000000014'),
    });
    await ds.initialize();
    await ds.runMigrations();
    const sums =
      'input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, entries, reasoning_tokens, extra_tokens';
    // Quarters 95 and 96 of day 20,000 and 20,001: the last of one UTC day, the first of the next.
    for (const [quarter, agent, input] of [
      [20_000 * 96 + 94, 'claude', 10],
      [20_000 * 96 + 95, 'claude', 20],
      [20_001 * 96, 'claude', 40],
      [20_001 * 96, 'codex', 80],
    ] as const)
      await ds.query(
        `INSERT INTO usage_member_rollups (quarter, agent, member, model, ${sums}) VALUES (${quarter}, '${agent}', 'alice', 'm', ${input}, 1, 0, 0, 0.5, 2, 3, 4)`,
      );
    await ds.destroy();
    ds = new DataSource({
      ...buildDataSourceOptions(config.database),
      migrations: upTo('MemberDays1795000000015'),
    });
    await ds.initialize();
    expect((await ds.runMigrations()).map((m) => m.name)).toEqual(['MemberDays1795000000015']);
    const rows = (await ds.query(
      `SELECT day, agent, member, model, ${sums} FROM usage_member_days ORDER BY day, agent`,
    )) as Record<string, string | number>[];
    expect(
      rows.map((r) => [
        Number(r.day),
        r.agent,
        Number(r.input_tokens),
        Number(r.entries),
        Number(r.cost_usd),
        Number(r.extra_tokens),
      ]),
    ).toEqual([
      [20_000, 'claude', 30, 4, 1, 8],
      [20_001, 'claude', 40, 2, 0.5, 4],
      [20_001, 'codex', 80, 2, 0.5, 4],
    ]);
    await ds.undoLastMigration();
    const runner = ds.createQueryRunner();
    expect(await runner.hasTable('usage_member_days')).toBe(false);
    await runner.release();
  });

  it('16 (enforced budgets) keeps every budget alerting only, and holds no request; down drops both', async () => {
    db = await createTestDatabase(kind);
    const config = loadConfig({ ...db.env, DB_MIGRATIONS_RUN: 'false' });
    ds = new DataSource({
      ...buildDataSourceOptions(config.database),
      migrations: upTo('MemberDays1795000000015'),
    });
    await ds.initialize();
    await ds.runMigrations();
    await ds.query(
      `INSERT INTO team_budgets (member, period, usd, timezone, created_at, updated_at) VALUES ('alice', 'week', 50, 'UTC', 1, 1)`,
    );
    await ds.destroy();
    ds = new DataSource(buildDataSourceOptions(config.database));
    await ds.initialize();
    expect((await ds.runMigrations()).map((m) => m.name)).toEqual(['EnforcedBudgets1795000000016']);
    const [budget] = (await ds.query('SELECT member, usd, enforce FROM team_budgets')) as {
      member: string;
      enforce: boolean | number;
    }[];
    expect([budget.member, Boolean(budget.enforce)]).toEqual(['alice', false]);
    expect(await ds.query('SELECT * FROM proxy_reservations')).toEqual([]);
    await ds.undoLastMigration();
    const runner = ds.createQueryRunner();
    expect(await runner.hasTable('proxy_reservations')).toBe(false);
    expect(await runner.hasColumn('team_budgets', 'enforce')).toBe(false);
    await runner.release();
  });
});

describe('the TypeORM CLI (ormconfig.ts)', () => {
  let db: TestDatabase | undefined;
  afterEach(async () => db?.drop());

  it('runs migrations and finds nothing to generate afterwards', async () => {
    db = await createTestDatabase('sqlite');
    const env = { ...process.env, ...db.env, LOG_LEVEL: 'silent' };
    const migrate = await run('npm', ['run', '--silent', 'migration:run'], { cwd: ROOT, env });
    for (const migration of MIGRATIONS)
      expect(migrate.stdout).toContain(`${new migration().name} has been executed successfully`);

    const again = await run('npm', ['run', '--silent', 'migration:run'], { cwd: ROOT, env });
    expect(again.stdout).toContain('No migrations are pending');

    const check = await run('npm', ['run', '--silent', 'migration:check'], { cwd: ROOT, env });
    expect(check.stdout).toContain('No changes in database schema were found');
  }, 60_000);
});
