import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { SqlParams } from '../../database/sql';
import { CLOCK, type Clock } from '../../common/clock';
import { MAX_AHEAD_MS } from '../dto/usage-entries.dto';
import { localDay } from '../../usage/local-day';
import { REPORT_COUNTS } from '../../usage/report-csv';
import { WEEKDAYS, type ReportKind } from '../../usage/dto/usage-report.dto';
import { type GroupBy, MAX_PAGE, type TeamReportQueryDto } from '../dto/team-report.dto';
import { dayPlan, inRanges, runShift } from './day-plan';

const QUARTER_MS = 15 * 60 * 1000;
const QUARTERS_PER_DAY = 96;
const DAY_MS = 24 * 60 * 60 * 1000;
const SYNTHETIC = '<synthetic>';
const KEY_FIELD = { daily: 'date', weekly: 'week', monthly: 'month' } as const;

/** input, output, cache creation, cache read, cost, reasoning, extra (see UsageCounts), entries */
type Sums = [number, number, number, number, number, number, number, number];
const SIZE = 8;
const ENTRIES = 7;

/** A query's group, agent, model and its sums packed into one text field (see `packed`). */
interface SumRow {
  grp: string | null;
  agent: string;
  model: string;
  sums: string;
}

const COUNTS = [
  'input_tokens',
  'output_tokens',
  'cache_creation_tokens',
  'cache_read_tokens',
  'cost_usd',
  'reasoning_tokens',
  'extra_tokens',
];

/**
 * Sums as one text field, `input output … entries` separated by spaces: a driver reads one field
 * a row instead of eight (node-postgres decodes every field as a string: the reports by member
 * read ~10,000 rows a page), and the text is exact on both databases — PostgreSQL writes a
 * double's shortest exact digits and integers (BIGINT, NUMERIC sums) in full, SQLite 17 digits.
 */
const packed = (terms: readonly string[]) =>
  terms.map((term) => `CAST(${term} AS TEXT)`).join(` || ' ' || `);
/** The sums of a roll-up's rows. */
const SUMS_SQL = `${packed([...COUNTS, 'entries'].map((c) => `SUM(${c})`))} AS sums`;
/** The same sums over the entries themselves. */
const ENTRY_SUMS_SQL = `${packed([...COUNTS.map((c) => `SUM(${c})`), 'COUNT(*)'])} AS sums`;
/** A roll-up row's own counts, negated with `sign` '-'. */
const rowSums = (sign: '' | '-') =>
  `${packed([...COUNTS, 'entries'].map((c) => `${sign}${c}`))} AS sums`;

/** Adds a row's packed sums into `into` (a new Sums when absent); returns it. */
function addSums(into: Sums | undefined, packedSums: string): Sums {
  const sums = into ?? [0, 0, 0, 0, 0, 0, 0, 0];
  let from = 0;
  for (let i = 0; i < SIZE; i++) {
    const to = i < SIZE - 1 ? packedSums.indexOf(' ', from) : packedSums.length;
    sums[i] += Number(packedSums.slice(from, to));
    from = to + 1;
  }
  return sums;
}

/** Adds a row's packed sums to its model's in `table`; returns the row's entries. */
const addInto = (table: Map<string, Sums>, model: string, packedSums: string): number => {
  const found = table.get(model);
  const before = found ? found[ENTRIES] : 0;
  const sums = addSums(found, packedSums);
  if (!found) table.set(model, sums);
  return sums[ENTRIES] - before;
};

/**
 * A report row from per-model sums, its leading fields (`head`: the date, the group) first: the
 * same shape and rules as the bridge's (reports.py).
 */
function reportRow(
  head: Record<string, unknown>,
  perModel: Map<string, Sums>,
  agents: ReadonlySet<string>,
  breakdown: boolean,
): Record<string, unknown> {
  const t: Sums = [0, 0, 0, 0, 0, 0, 0, 0];
  for (const sums of perModel.values()) for (let i = 0; i < SIZE; i++) t[i] += sums[i];
  const named = [...perModel.entries()].filter(([model]) => model !== SYNTHETIC);
  head.input_tokens = t[0];
  head.output_tokens = t[1];
  head.cache_creation_tokens = t[2];
  head.cache_read_tokens = t[3];
  head.reasoning_output_tokens = t[5];
  head.total_tokens = t[0] + t[1] + t[2] + t[3] + t[6];
  head.cost_usd = t[4];
  head.models = named.map(([model]) => model).sort();
  head.agents = [...agents].sort();
  if (breakdown)
    head.model_breakdowns = named
      .sort(([, a], [, b]) => b[4] - a[4])
      .map(([model, s]) => ({
        model,
        input_tokens: s[0],
        output_tokens: s[1],
        cache_creation_tokens: s[2],
        cache_read_tokens: s[3],
        cost_usd: s[4],
      }));
  return head;
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
 * sum of quarter hours (the zone's offsets over the range become one CASE), or for reports by
 * member a UTC day's row with the quarters that lie in the neighbouring local day moved over
 * (day-plan.ts), so a report reads about a row per day × group × model, whatever the number of
 * entries. `limit`/`after` page the groups.
 */
@Injectable()
export class TeamReports {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  async report(kind: ReportKind, query: TeamReportQueryDto): Promise<Record<string, unknown>> {
    const timezone = query.timezone ?? 'UTC';
    const resetHour = query.reset_hour ?? 0;
    const order = query.order ?? 'asc';
    const breakdown = query.breakdown ?? true;
    const paged = query.limit !== undefined || query.after !== undefined;
    const { rows, next } =
      kind === 'sessions'
        ? { rows: await this.sessions(query, timezone, resetHour, breakdown), next: null }
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
      ...(paged
        ? { page: { limit: query.limit ?? MAX_PAGE, after: query.after ?? null, next } }
        : {}),
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

  /** The filters of `query` as SQL conditions; `groups`: only these groups (a page's). */
  private filters(
    query: TeamReportQueryDto,
    params: SqlParams,
    groups?: readonly string[],
  ): string[] {
    const where: string[] = [];
    if (groups && query.group_by) where.push(`${query.group_by} ${params.in(groups)}`);
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
  ): Promise<{ rows: Record<string, unknown>[]; next: string | null }> {
    // The smallest roll-up that holds what is asked: the team's (quarter × model) for the whole
    // team, the members' (day × member × model, with their quarters where a local day leaves
    // the UTC day) unless machines or projects matter.
    const byPlace =
      !!query.machine ||
      !!query.project ||
      query.group_by === 'machine' ||
      query.group_by === 'project';
    const byMember = !byPlace && (!!query.member || query.group_by === 'member');
    const table = byPlace ? 'usage_rollups' : byMember ? 'usage_member_days' : 'usage_team_rollups';
    const unit = byMember ? 'day' : 'quarter';
    const perDay = byMember ? 1 : QUARTERS_PER_DAY;
    // The days that can hold quarters of the asked local days (two days of margin before and
    // three after, for any offset and reset hour); the days themselves are checked exactly below.
    const bounds: string[] = [];
    if (query.since)
      bounds.push(`${unit} >= ${(Math.floor(Date.parse(query.since) / DAY_MS) - 2) * perDay}`);
    if (query.until)
      bounds.push(`${unit} < ${(Math.floor(Date.parse(query.until) / DAY_MS) + 4) * perDay}`);
    const grp = this.groupColumn(query.group_by);
    // A page: the first `limit` groups after `after` that have rows in (or near) the asked days.
    let groups: string[] | undefined;
    let next: string | null = null;
    if (query.group_by && (query.limit !== undefined || query.after !== undefined)) {
      const limit = query.limit ?? MAX_PAGE;
      const params = SqlParams.for(this.db);
      const where = [...this.filters(query, params), ...bounds];
      if (query.after !== undefined) where.push(`${grp} > ${params.value(query.after)}`);
      const names = (
        (await this.db.query(
          `SELECT DISTINCT ${grp} AS grp FROM ${table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` +
            `ORDER BY grp LIMIT ${limit + 1}`,
          params.values,
        )) as { grp: string }[]
      ).map((row) => row.grp);
      if (names.length > limit) next = names[limit - 1];
      groups = names.slice(0, limit);
      if (groups.length === 0) return { rows: [], next };
    }
    const params = SqlParams.for(this.db);
    const where = [...this.filters(query, params, groups), ...bounds];
    // The UTC days the plan covers: the asked ones with their margins; without `since`, from the
    // first row's (a query); without `until`, to the last day a row can be on (no entry is stored
    // more than MAX_AHEAD_MS ahead of its arrival).
    let firstDay = query.since ? Math.floor(Date.parse(query.since) / DAY_MS) - 2 : undefined;
    const lastDay = query.until
      ? Math.floor(Date.parse(query.until) / DAY_MS) + 3
      : Math.floor((this.now() + MAX_AHEAD_MS) / DAY_MS);
    if (firstDay === undefined) {
      const [range] = (await this.db.query(
        `SELECT MIN(${unit}) AS lo FROM ${table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
        params.values,
      )) as { lo: string | number | null }[];
      if (range.lo === null) return { rows: [], next };
      firstDay = Math.floor(Number(range.lo) / perDay);
    }
    if (firstDay > lastDay) return { rows: [], next };
    const plan = dayPlan(firstDay, lastDay, timezone, resetHour);
    let sql: string;
    let values: unknown[];
    if (!byMember) {
      sql =
        `SELECT ${plan.localDay} AS day, ${grp} AS grp, agent, model, ${SUMS_SQL} FROM ${table} ` +
        `${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY 1, 2, 3, 4 HAVING SUM(entries) > 0`;
      values = params.values;
    } else {
      // Whole UTC days go to the local day holding most of them; the quarters of theirs that lie
      // in the neighbouring local day are taken back and added there; a day whose offset changes
      // is summed from its quarters.
      const parts = SqlParams.for(this.db);
      const select = (day: string, sign: '' | '-', from: string, range: string) =>
        `SELECT CAST(${day} AS INTEGER) AS day, ${grp} AS grp, agent, model, ${rowSums(sign)} FROM ${from} ` +
        `WHERE ${[...this.filters(query, parts, groups), range].join(' AND ')}`;
      const utcDay = `quarter / ${QUARTERS_PER_DAY}`;
      const selects = [
        ...(plan.runs.length
          ? [
              select(
                `day + ${runShift('day', plan.runs)}`,
                '',
                'usage_member_days',
                inRanges('day', plan.runs, true),
              ),
            ]
          : []),
        ...(plan.moved.length
          ? [
              select(
                `${utcDay} + ${runShift(utcDay, plan.runs)}`,
                '-',
                'usage_member_rollups',
                inRanges('quarter', plan.moved, false),
              ),
            ]
          : []),
        ...(plan.moved.length || plan.split.length
          ? [
              select(
                plan.localDay,
                '',
                'usage_member_rollups',
                inRanges('quarter', [...plan.moved, ...plan.split], false),
              ),
            ]
          : []),
      ];
      // Added up below, with the rows of each day, group and model (a sort or hash here
      // would cost more than the sum).
      sql = selects.join(' UNION ALL ');
      values = parts.values;
    }
    const found = (await this.db.query(sql, values)) as (SumRow & { day: string | number })[];
    const startOfWeek = WEEKDAYS.indexOf(query.start_of_week ?? 'sunday');
    interface Group {
      readonly grp: string | null;
      readonly agents: Map<string, number>;
      readonly models: Map<string, Sums>;
    }
    // Report key → group → its sums (maps of maps: no key built per row).
    const byKey = new Map<string, Map<string, Group>>();
    // Each day's report key, or null when the day is outside the asked ones.
    const keys = new Map<number, Map<string, Group> | null>();
    const groupsOf = (day: number): Map<string, Group> | null => {
      let groups = keys.get(day);
      if (groups !== undefined) return groups;
      const date = new Date(day * DAY_MS).toISOString().slice(0, 10);
      const key =
        (query.since && date < query.since) || (query.until && date > query.until)
          ? null
          : kind === 'daily'
            ? date
            : kind === 'weekly'
              ? weekStart(date, startOfWeek)
              : date.slice(0, 7);
      groups = key === null ? null : (byKey.get(key) ?? new Map<string, Group>());
      if (key !== null) byKey.set(key, groups!);
      keys.set(day, groups);
      return groups;
    };
    for (const row of found) {
      const groups = groupsOf(Number(row.day));
      if (groups === null) continue;
      const name = row.grp ?? '';
      let group = groups.get(name);
      if (!group)
        groups.set(name, (group = { grp: row.grp, agents: new Map(), models: new Map() }));
      const entries = addInto(group.models, row.model, row.sums);
      group.agents.set(row.agent, (group.agents.get(row.agent) ?? 0) + entries);
    }
    const field = KEY_FIELD[kind];
    // What was taken back from a day to go to its neighbour leaves no entries behind (nor the
    // rounding of its cost): a model, an agent or a whole row without entries goes. Rows by key,
    // then by group.
    const counted = (entries: number) => entries > 0;
    const rows: Record<string, unknown>[] = [];
    for (const key of [...byKey.keys()].sort()) {
      const groups = byKey.get(key)!;
      for (const name of [...groups.keys()].sort((a, b) => a.localeCompare(b))) {
        const group = groups.get(name)!;
        for (const [model, sums] of group.models)
          if (!counted(sums[ENTRIES])) group.models.delete(model);
        if (group.models.size === 0) continue;
        const agents = new Set<string>();
        for (const [agent, entries] of group.agents) if (counted(entries)) agents.add(agent);
        const head: Record<string, unknown> = { [field]: key };
        if (query.group_by) head[query.group_by] = group.grp;
        rows.push(reportRow(head, group.models, agents, breakdown));
      }
    }
    return { rows, next };
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
        `${ENTRY_SUMS_SQL}, MIN(ts) AS first_ts, MAX(ts) AS last_ts FROM usage_entries ${clause} ` +
        `GROUP BY agent, project_path, session_id, ${grp}, model, ts / ${QUARTER_MS}`;
    } else {
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
      sql =
        `SELECT agent, project_path, session_id, ${grp} AS grp, model, ${SUMS_SQL}, ` +
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
      addInto(session.models, row.model, row.sums);
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
        ...reportRow({}, session.models, new Set([session.agent]), breakdown),
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
