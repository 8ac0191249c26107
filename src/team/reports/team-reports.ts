import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { SqlParams } from '../../database/sql';
import { localDay } from '../../usage/local-day';
import { REPORT_COUNTS } from '../../usage/report-csv';
import { WEEKDAYS, type ReportKind } from '../../usage/dto/usage-report.dto';
import type { GroupBy, TeamReportQueryDto } from '../dto/team-report.dto';
import { offsetPieces } from './zone-offsets';

const QUARTER_MS = 15 * 60 * 1000;
const QUARTERS_PER_DAY = 96;
const DAY_MS = 24 * 60 * 60 * 1000;
const SYNTHETIC = '<synthetic>';
const KEY_FIELD = { daily: 'date', weekly: 'week', monthly: 'month' } as const;

/** input, output, cache creation, cache read, cost, reasoning, extra (see UsageCounts) */
type Sums = [number, number, number, number, number, number, number];
const SIZE = 7;

interface SumRow {
  grp: string | null;
  agent: string;
  model: string;
  input_tokens: string | number;
  output_tokens: string | number;
  cache_creation_tokens: string | number;
  cache_read_tokens: string | number;
  cost_usd: string | number;
  reasoning_tokens: string | number;
  extra_tokens: string | number;
}

/** The sums a query selects (the roll-ups' and the entries' columns have the same names). */
const SUMS_SQL = [
  'input_tokens',
  'output_tokens',
  'cache_creation_tokens',
  'cache_read_tokens',
  'cost_usd',
  'reasoning_tokens',
  'extra_tokens',
]
  .map((column) => `SUM(${column}) AS ${column}`)
  .join(', ');

const sumsOf = (row: SumRow): Sums => [
  Number(row.input_tokens),
  Number(row.output_tokens),
  Number(row.cache_creation_tokens),
  Number(row.cache_read_tokens),
  Number(row.cost_usd),
  Number(row.reasoning_tokens),
  Number(row.extra_tokens),
];

const addInto = (table: Map<string, Sums>, model: string, sums: Sums) => {
  const found = table.get(model);
  if (found) for (let i = 0; i < SIZE; i++) found[i] += sums[i];
  else table.set(model, [...sums]);
};

/** A report row from per-model sums: the same shape and rules as the bridge's (reports.py). */
function reportRow(
  perModel: Map<string, Sums>,
  agents: ReadonlySet<string>,
  breakdown: boolean,
): Record<string, unknown> {
  const t: Sums = [0, 0, 0, 0, 0, 0, 0];
  for (const sums of perModel.values()) for (let i = 0; i < SIZE; i++) t[i] += sums[i];
  const named = [...perModel.entries()].filter(([model]) => model !== SYNTHETIC);
  return {
    input_tokens: t[0],
    output_tokens: t[1],
    cache_creation_tokens: t[2],
    cache_read_tokens: t[3],
    reasoning_output_tokens: t[5],
    total_tokens: t[0] + t[1] + t[2] + t[3] + t[6],
    cost_usd: t[4],
    models: named.map(([model]) => model).sort(),
    agents: [...agents].sort(),
    ...(breakdown
      ? {
          model_breakdowns: named
            .sort(([, a], [, b]) => b[4] - a[4])
            .map(([model, s]) => ({
              model,
              input_tokens: s[0],
              output_tokens: s[1],
              cache_creation_tokens: s[2],
              cache_read_tokens: s[3],
              cost_usd: s[4],
            })),
        }
      : {}),
  };
}

function totalsOf(rows: readonly Record<string, unknown>[]) {
  return Object.fromEntries(
    [...REPORT_COUNTS, 'reasoning_output_tokens'].map((name) => [
      name,
      rows.reduce((sum, row) => sum + (row[name] as number), 0),
    ]),
  );
}

/** The first day of `date`'s week (weeks start on `startOfWeek`, 0 = Sunday), as ccusage counts. */
export function weekStart(date: string, startOfWeek: number): string {
  const day = new Date(`${date}T00:00:00Z`);
  const back = (day.getUTCDay() - startOfWeek + 7) % 7;
  return new Date(day.getTime() - back * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The team reports (docs/design.md §9) from the ledger's roll-ups, summed in the database: a day is a
 * sum of quarter hours (the zone's offsets over the range become one CASE), so a report reads a
 * row per day × group × model, whatever the number of entries.
 */
@Injectable()
export class TeamReports {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async report(kind: ReportKind, query: TeamReportQueryDto): Promise<Record<string, unknown>> {
    const timezone = query.timezone ?? 'UTC';
    const resetHour = query.reset_hour ?? 0;
    const order = query.order ?? 'asc';
    const breakdown = query.breakdown ?? true;
    const rows =
      kind === 'sessions'
        ? await this.sessions(query, timezone, resetHour, breakdown)
        : await this.periods(kind, query, timezone, resetHour, breakdown);
    if (order === 'desc') rows.reverse();
    return {
      [kind]: rows,
      totals: totalsOf(rows),
      timezone,
      order,
      reset_hour: resetHour,
      agent: query.agent ?? 'all',
      ...(query.group_by ? { group_by: query.group_by } : {}),
    };
  }

  /** Counter totals per member, metric and series for minutes in [since, until). */
  async metrics(since: number, until: number, member?: string): Promise<MetricTotal[]> {
    const params = SqlParams.for(this.db);
    let where = `minute >= ${params.value(Math.floor(since / 60_000))} AND minute < ${params.value(Math.ceil(until / 60_000))}`;
    if (member !== undefined) where += ` AND member = ${params.value(member)}`;
    const rows = (await this.db.query(
      `SELECT member, metric, label, SUM(value) AS value FROM usage_metric_minutes WHERE ${where} ` +
        'GROUP BY member, metric, label ORDER BY member, metric, label',
      params.values,
    )) as { member: string; metric: string; label: string; value: string | number }[];
    return rows.map((row) => ({ ...row, value: Number(row.value) }));
  }

  private filters(query: TeamReportQueryDto, params: SqlParams): string[] {
    const where: string[] = [];
    for (const column of ['member', 'machine', 'model', 'project'] as const) {
      const value = query[column];
      if (value !== undefined) where.push(`${column} = ${params.value(value)}`);
    }
    if (query.agent !== undefined && query.agent !== 'all')
      where.push(`agent = ${params.value(query.agent)}`);
    return where;
  }

  private groupColumn(groupBy: GroupBy | undefined): string {
    return groupBy ? groupBy : "''";
  }

  private async periods(
    kind: Exclude<ReportKind, 'sessions'>,
    query: TeamReportQueryDto,
    timezone: string,
    resetHour: number,
    breakdown: boolean,
  ): Promise<Record<string, unknown>[]> {
    const params = SqlParams.for(this.db);
    const where = this.filters(query, params);
    // The quarters that can fall on the asked days (a day and a half of margin for any offset
    // and reset hour); the days themselves are checked exactly below.
    if (query.since)
      where.push(`quarter >= ${Math.floor((Date.parse(query.since) - 1.5 * DAY_MS) / QUARTER_MS)}`);
    if (query.until)
      where.push(`quarter < ${Math.ceil((Date.parse(query.until) + 2.5 * DAY_MS) / QUARTER_MS)}`);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    // The smallest roll-up that holds what is asked: the team's (quarter × model) for the whole
    // team, the members' (quarter × member × model) unless machines or projects matter.
    const byPlace =
      !!query.machine ||
      !!query.project ||
      query.group_by === 'machine' ||
      query.group_by === 'project';
    const table = byPlace
      ? 'usage_rollups'
      : query.member || query.group_by === 'member'
        ? 'usage_member_rollups'
        : 'usage_team_rollups';
    const [range] = (await this.db.query(
      `SELECT MIN(quarter) AS lo, MAX(quarter) AS hi FROM ${table} ${clause}`,
      params.values,
    )) as { lo: string | number | null; hi: string | number | null }[];
    if (range.lo === null || range.hi === null) return [];
    const pieces = offsetPieces(
      Number(range.lo) * QUARTER_MS,
      (Number(range.hi) + 1) * QUARTER_MS,
      timezone,
    );
    // Local day number = (quarter + offset in quarters − reset hour in quarters) / 96.
    const shift = (offsetMin: number) => Math.round(offsetMin / 15) - resetHour * 4;
    let dayExpr: string;
    if (pieces.length === 1)
      dayExpr = `(quarter + ${shift(pieces[0].offset)}) / ${QUARTERS_PER_DAY}`;
    else {
      const cases = pieces
        .slice(1)
        .map(
          (piece, i) => `WHEN quarter < ${piece.from / QUARTER_MS} THEN ${shift(pieces[i].offset)}`,
        )
        .join(' ');
      dayExpr = `(quarter + CASE ${cases} ELSE ${shift(pieces[pieces.length - 1].offset)} END) / ${QUARTERS_PER_DAY}`;
    }
    const grp = this.groupColumn(query.group_by);
    const sql =
      `SELECT ${dayExpr} AS day, ${grp} AS grp, agent, model, ${SUMS_SQL} ` +
      `FROM ${table} ${clause} GROUP BY 1, 2, 3, 4 HAVING SUM(entries) > 0`;
    const found = (await this.db.query(sql, params.values)) as (SumRow & {
      day: string | number;
    })[];
    const startOfWeek = WEEKDAYS.indexOf(query.start_of_week ?? 'sunday');
    const groups = new Map<
      string,
      { key: string; grp: string | null; agents: Set<string>; models: Map<string, Sums> }
    >();
    for (const row of found) {
      const date = new Date(Number(row.day) * DAY_MS).toISOString().slice(0, 10);
      if ((query.since && date < query.since) || (query.until && date > query.until)) continue;
      const key =
        kind === 'daily'
          ? date
          : kind === 'weekly'
            ? weekStart(date, startOfWeek)
            : date.slice(0, 7);
      const id = `${key}\u0000${row.grp ?? ''}`;
      let group = groups.get(id);
      if (!group)
        groups.set(id, (group = { key, grp: row.grp, agents: new Set(), models: new Map() }));
      group.agents.add(row.agent);
      addInto(group.models, row.model, sumsOf(row));
    }
    const field = KEY_FIELD[kind];
    return [...groups.values()]
      .sort((a, b) =>
        a.key === b.key ? String(a.grp).localeCompare(String(b.grp)) : a.key < b.key ? -1 : 1,
      )
      .map((group) => ({
        [field]: group.key,
        ...(query.group_by ? { [query.group_by]: group.grp } : {}),
        ...reportRow(group.models, group.agents, breakdown),
      }));
  }

  /**
   * A row per session (project path + Claude Code's session id, and the group), with its first
   * and last activity, as ccusage 20's `session`. since/until keep the entries of those local days
   * first, then the sessions are formed from them (read from the entries per quarter hour, each
   * of which lies within one local day); without them the session roll-up holds the answer.
   */
  private async sessions(
    query: TeamReportQueryDto,
    timezone: string,
    resetHour: number,
    breakdown: boolean,
  ): Promise<Record<string, unknown>[]> {
    const params = SqlParams.for(this.db);
    const where = this.filters(query, params);
    const grp = this.groupColumn(query.group_by);
    const sums = SUMS_SQL;
    const ranged = query.since !== undefined || query.until !== undefined;
    let sql: string;
    if (ranged) {
      // The entries that can fall on the asked days (a day and a half of margin for any offset
      // and reset hour); the days themselves are checked exactly below.
      if (query.since) where.push(`ts >= ${Date.parse(query.since) - 1.5 * DAY_MS}`);
      if (query.until) where.push(`ts < ${Date.parse(query.until) + 2.5 * DAY_MS}`);
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
      sql =
        `SELECT agent, project_path, session_id, ${grp} AS grp, model, ts / ${QUARTER_MS} AS quarter, ` +
        `${sums}, MIN(ts) AS first_ts, MAX(ts) AS last_ts FROM usage_entries ${clause} ` +
        `GROUP BY agent, project_path, session_id, ${grp}, model, ts / ${QUARTER_MS}`;
    } else {
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
      sql =
        `SELECT agent, project_path, session_id, ${grp} AS grp, model, ${sums}, ` +
        `MIN(first_ts) AS first_ts, MAX(last_ts) AS last_ts FROM usage_session_rollups ${clause} ` +
        `GROUP BY agent, project_path, session_id, ${grp}, model HAVING SUM(entries) > 0`;
    }
    const found = (await this.db.query(sql, params.values)) as (SumRow & {
      project_path: string;
      session_id: string;
      quarter?: string | number;
      first_ts: string | number;
      last_ts: string | number;
    })[];
    const sessions = new Map<
      string,
      {
        agent: string;
        path: string;
        id: string;
        grp: string | null;
        first: number;
        last: number;
        models: Map<string, Sums>;
      }
    >();
    for (const row of found) {
      if (row.quarter !== undefined) {
        const day = localDay(Number(row.quarter) * QUARTER_MS, timezone, resetHour);
        if ((query.since && day < query.since) || (query.until && day > query.until)) continue;
      }
      const id = `${row.agent}\u0000${row.project_path}\u0000${row.session_id}\u0000${row.grp ?? ''}`;
      let session = sessions.get(id);
      if (!session)
        sessions.set(
          id,
          (session = {
            agent: row.agent,
            path: row.project_path,
            id: row.session_id,
            grp: row.grp,
            first: Number.MAX_SAFE_INTEGER,
            last: 0,
            models: new Map(),
          }),
        );
      session.first = Math.min(session.first, Number(row.first_ts));
      session.last = Math.max(session.last, Number(row.last_ts));
      addInto(session.models, row.model, sumsOf(row));
    }
    return [...sessions.values()]
      .sort((a, b) => a.last - b.last || a.path.localeCompare(b.path) || a.id.localeCompare(b.id))
      .map((session) => ({
        session_id: session.id,
        project_path: session.path,
        first_activity: new Date(session.first).toISOString(),
        last_activity: new Date(session.last).toISOString(),
        agent: session.agent,
        ...(query.group_by ? { [query.group_by]: session.grp } : {}),
        ...reportRow(session.models, new Set([session.agent]), breakdown),
      }));
  }
}

/** Claude Code's counters (OTLP) summed per member, metric and series over a window. */
export interface MetricTotal {
  member: string;
  metric: string;
  label: string;
  value: number;
}
