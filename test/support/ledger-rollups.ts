import { expect } from 'vitest';
import { queryDatabase, type TestDatabase } from './databases';

const SUMS =
  'SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(cache_creation_tokens) AS cc, ' +
  'SUM(cache_read_tokens) AS cr, SUM(entries) AS n, SUM(cost_usd) AS usd';
const ENTRY_SUMS = SUMS.replace('SUM(entries)', 'COUNT(*)');
const QUARTER = 'ts / 900000';

/**
 * Rows as comparable text without their cost (last column), sorted — PostgreSQL's bigints come as
 * strings, SQLite's as numbers — and the costs in the same order (sums of doubles added in
 * another order differ in the last bits).
 */
function normalized(rows: Record<string, unknown>[]): { keys: string[]; usd: number[] } {
  const text = rows
    .map((row) => {
      const values = Object.values(row);
      const usd = Number(values.pop());
      const key = values
        .map((v) => (v === null ? 'null' : String(Number.isNaN(Number(v)) ? v : Number(v))))
        .join('|');
      return { key, usd };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { keys: text.map((r) => r.key), usd: text.map((r) => r.usd) };
}

/**
 * Every roll-up the ledger keeps equals the sums of the entries it stands for — after concurrent
 * writers, resends and replaced rows (whose figures were taken out again) — row for row: a group
 * whose entries all left is gone, not a row of zeros or of rounding left-overs. Each session's
 * first and last activity are its entries', each member's last activity is its latest entry.
 */
export async function expectRollupsMatchEntries(db: TestDatabase): Promise<void> {
  const pairs: [string, string, string][] = [
    [
      'quarter × member × machine × model × project',
      `SELECT quarter, member, machine, model, project, ${SUMS} FROM usage_rollups GROUP BY 1, 2, 3, 4, 5`,
      `SELECT ${QUARTER} AS quarter, member, machine, model, project, ${ENTRY_SUMS} FROM usage_entries GROUP BY 1, 2, 3, 4, 5`,
    ],
    [
      'quarter × member × model',
      `SELECT quarter, member, model, ${SUMS} FROM usage_member_rollups GROUP BY 1, 2, 3`,
      `SELECT ${QUARTER} AS quarter, member, model, ${ENTRY_SUMS} FROM usage_entries GROUP BY 1, 2, 3`,
    ],
    [
      'day × agent × member × model',
      `SELECT day, agent, member, model, ${SUMS} FROM usage_member_days GROUP BY 1, 2, 3, 4`,
      `SELECT ts / 86400000 AS day, agent, member, model, ${ENTRY_SUMS} FROM usage_entries GROUP BY 1, 2, 3, 4`,
    ],
    [
      'quarter × model (all shards)',
      `SELECT quarter, model, ${SUMS} FROM usage_team_rollups GROUP BY 1, 2`,
      `SELECT ${QUARTER} AS quarter, model, ${ENTRY_SUMS} FROM usage_entries GROUP BY 1, 2`,
    ],
    [
      'session × member × machine × model',
      `SELECT member, machine, project_path, session_id, model, ${SUMS} FROM usage_session_rollups GROUP BY 1, 2, 3, 4, 5`,
      `SELECT member, machine, project_path, session_id, model, ${ENTRY_SUMS} FROM usage_entries GROUP BY 1, 2, 3, 4, 5`,
    ],
    [
      'first and last activity per session × member × machine × model',
      'SELECT member, machine, project_path, session_id, model, MIN(first_ts) AS f, MAX(last_ts) AS l, 0 AS usd FROM usage_session_rollups GROUP BY 1, 2, 3, 4, 5',
      'SELECT member, machine, project_path, session_id, model, MIN(ts) AS f, MAX(ts) AS l, 0 AS usd FROM usage_entries GROUP BY 1, 2, 3, 4, 5',
    ],
    [
      'last request per member (its machines’ latest)',
      'SELECT member, MAX(last_ts) AS last_ts, 0 AS usd FROM usage_machine_activity GROUP BY 1',
      'SELECT member, MAX(ts) AS last_ts, 0 AS usd FROM usage_entries GROUP BY 1',
    ],
  ];
  const entries = await queryDatabase<{ n: number | string }>(
    db,
    'SELECT COUNT(*) AS n FROM usage_entries',
  );
  expect(Number(entries[0].n)).toBeGreaterThan(0);
  for (const [what, rollup, fromEntries] of pairs) {
    const [ours, theirs] = await Promise.all([
      queryDatabase(db, rollup),
      queryDatabase(db, fromEntries),
    ]);
    const [a, b] = [normalized(ours), normalized(theirs)];
    expect(a.keys, what).toEqual(b.keys);
    a.usd.forEach((usd, i) =>
      expect(Math.abs(usd - b.usd[i]), `${what}: ${a.keys[i]}`).toBeLessThan(1e-9),
    );
  }
}
