import type { QueryParams } from '../bridge/bridge-client';
import type { UsageConfigDto } from './dto/usage-config.dto';
import type { ReportKind } from './dto/usage-report.dto';

/*
 * What a usage read is and where its answer came from: the parameters each kind of read really
 * uses (the request's, else the stored config's), their stable key, and the sources in order of
 * freshness. Pure: team and limits code import these without reaching into a service.
 */

export type DataSourceName = 'bridge' | 'cache' | 'snapshot' | 'database' | 'default';

/** How far a source is from the bridge now (the status line reports its least fresh part). */
export const SOURCE_RANK: Record<DataSourceName, number> = {
  bridge: 0,
  cache: 1,
  snapshot: 2,
  database: 3,
  default: 4,
};

/** A payload and where it came from, for the X-Data-Source / X-Data-Age headers. */
export interface Sourced<T> {
  readonly payload: T;
  readonly source: DataSourceName;
  /** Seconds since the data was produced by the bridge (null when it came from it just now). */
  readonly ageSeconds: number | null;
}

export type RawQuery = Readonly<Record<string, unknown>>;

const SESSIONS_DEFAULTS = { hours_back: 24, limit: 100 };
const STATS_PARAMS = ['plan', 'custom_limit_tokens', 'timezone', 'reset_hour'] as const;

/** A stable key of request parameters: sorted names, string values, empty ones dropped. */
export function paramsKey(params: RawQuery): string {
  const entries = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [k, String(v)] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(Object.fromEntries(entries));
}

/** The parameters a stats call really uses: the request's, else the stored config's. */
export function statsParams(query: RawQuery, stored: UsageConfigDto): QueryParams {
  const params: Record<string, string | number | undefined> = {};
  for (const name of STATS_PARAMS) {
    const value = query[name] ?? stored[name];
    params[name] = value === null || value === undefined ? undefined : (value as string | number);
  }
  return params;
}

export function sessionsParams(query: RawQuery): QueryParams {
  return {
    hours_back: (query.hours_back as number | undefined) ?? SESSIONS_DEFAULTS.hours_back,
    limit: (query.limit as number | undefined) ?? SESSIONS_DEFAULTS.limit,
    session_id: (query.session_id as string | undefined) || undefined,
  };
}

/**
 * The parameters a report call really uses, defaults applied (so equal requests share a cache
 * entry and a snapshot): time zone and reset hour from the request, else the stored config's.
 */
export function reportParams(
  kind: ReportKind,
  query: RawQuery,
  stored: UsageConfigDto,
): QueryParams {
  const zone = stored.timezone && stored.timezone !== 'auto' ? stored.timezone : 'UTC';
  const breakdown = query.breakdown ?? true;
  return {
    since: query.since as string | undefined,
    until: query.until as string | undefined,
    timezone: (query.timezone as string | undefined) ?? zone,
    project: query.project as string | undefined,
    order: (query.order as string | undefined) ?? 'asc',
    start_of_week:
      kind === 'weekly' ? ((query.start_of_week as string | undefined) ?? 'sunday') : undefined,
    breakdown: String(breakdown),
    reset_hour: Number(query.reset_hour ?? stored.reset_hour ?? 0),
    agent: (query.agent as string | undefined) ?? 'all',
  };
}
