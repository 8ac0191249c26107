import { Transform } from 'class-transformer';
import { IsIn, IsISO8601, IsInt, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { Type } from 'class-transformer';
import { IsTimeZone } from '../../common/is-time-zone.validator';
import { propertyRule } from '../../common/property-rule';
import { AGENT_FILTERS, type Agent, type AgentFilter } from '../agents';

export const REPORT_KINDS = ['daily', 'weekly', 'monthly', 'sessions'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];
export const WEEKDAYS = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
] as const;

/** `until` may not come before `since` (both YYYY-MM-DD, so text order is date order). */
const IsNotBeforeSince = (): PropertyDecorator =>
  propertyRule(
    'isNotBeforeSince',
    (value, args) => {
      const since = (args.object as { since?: unknown }).since;
      return typeof value !== 'string' || typeof since !== 'string' || value >= since;
    },
    '$property must not be before since',
  );

/** GET /api/usage/reports/{daily|weekly|monthly|sessions}: every parameter optional. */
export class UsageReportQueryDto {
  /** First day (YYYY-MM-DD, in the report's time zone), inclusive. */
  @IsOptional()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'since must be a date YYYY-MM-DD' })
  @IsISO8601({ strict: true }, { message: 'since must be a real date' })
  since?: string;

  /** Last day (YYYY-MM-DD), inclusive. */
  @IsOptional()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'until must be a date YYYY-MM-DD' })
  @IsISO8601({ strict: true }, { message: 'until must be a real date' })
  @IsNotBeforeSince()
  until?: string;

  /** An IANA time zone; default: the stored config's, else UTC. */
  @IsOptional()
  @IsTimeZone()
  timezone?: string;

  /** A project folder name under `projects/` (exact), e.g. -home-me-shop */
  @IsOptional()
  @MaxLength(255)
  @Matches(/^[^/\\]+$/, { message: 'project must be a project folder name (no slashes)' })
  project?: string;

  /** asc (default) or desc */
  @IsOptional()
  @IsIn(['asc', 'desc'])
  order?: 'asc' | 'desc';

  /** The day weeks start on (weekly report; default sunday). */
  @IsOptional()
  @IsIn(WEEKDAYS)
  start_of_week?: (typeof WEEKDAYS)[number];

  /** Include per-model rows (default true). */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsIn([true, false], { message: 'breakdown must be true or false' })
  breakdown?: boolean;

  /** The hour (0–23) a day starts at; default: the stored config's, else 0 (midnight). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(23)
  reset_hour?: number;

  /** One agent's usage (claude, codex, gemini, opencode, amp) or every agent's: all (default). */
  @IsOptional()
  @IsIn(AGENT_FILTERS)
  agent?: AgentFilter;

  /** json (default) or csv (RFC 4180, a header row, one line per row, no breakdowns). */
  @IsOptional()
  @IsIn(['json', 'csv'])
  format?: 'json' | 'csv';
}

export class ModelBreakdownDto {
  model!: string;
  input_tokens!: number;
  output_tokens!: number;
  cache_creation_tokens!: number;
  cache_read_tokens!: number;
  cost_usd!: number;
}

export class AgentBreakdownDto {
  agent!: Agent;
  input_tokens!: number;
  output_tokens!: number;
  cache_creation_tokens!: number;
  cache_read_tokens!: number;
  reasoning_output_tokens!: number;
  total_tokens!: number;
  cost_usd!: number;
}

export class ReportTotalsDto {
  /** Input not read from a cache (Codex's and Gemini's input less their cached part). */
  input_tokens!: number;
  output_tokens!: number;
  cache_creation_tokens!: number;
  cache_read_tokens!: number;
  /** Reasoning the agent reported (Codex: part of output_tokens; Gemini's thoughts and
   * OpenCode's reasoning: in total_tokens and priced as output). 0 for Claude Code. */
  reasoning_output_tokens?: number;
  total_tokens!: number;
  cost_usd!: number;
}

export class ReportRowDto extends ReportTotalsDto {
  /** Models used, sorted, without `<synthetic>` (its tokens still count). */
  models!: string[];
  /** The agents whose usage the row holds. */
  agents?: Agent[];
  /** Per agent, costliest first (daily, weekly and monthly rows; absent with breakdown=false). */
  agent_breakdowns?: AgentBreakdownDto[];
  /** Per model, costliest first (absent with breakdown=false). */
  model_breakdowns?: ModelBreakdownDto[];
}

export class DailyRowDto extends ReportRowDto {
  /** YYYY-MM-DD */
  date!: string;
}

export class WeeklyRowDto extends ReportRowDto {
  /** The first day of the week, YYYY-MM-DD */
  week!: string;
}

export class MonthlyRowDto extends ReportRowDto {
  /** YYYY-MM */
  month!: string;
}

export class SessionRowDto extends ReportRowDto {
  /** The agent of the session. */
  agent?: Agent;
  /** Claude Code's session id (projects/<project>/<id>.jsonl; a sub-agent's file counts in its
   * parent session), as ccusage 20 names it. */
  session_id!: string;
  /** The session's project folder under projects/ ("Unknown Project" when none). */
  project_path!: string;
  /** ISO-8601 time of its first entry (of the days kept by since/until) */
  first_activity!: string;
  /** ISO-8601 time of its latest entry (of the days kept by since/until) */
  last_activity!: string;
}

class ReportMetaDto {
  totals!: ReportTotalsDto;
  timezone!: string;
  order!: 'asc' | 'desc';
  reset_hour!: number;
  /** The agent filter the report was made for. */
  agent?: AgentFilter;
  /** Models of these rows without a price: they cost 0 (as ccusage's unpricedModels). */
  unpriced_models?: string[];
}

export class DailyReportDto extends ReportMetaDto {
  daily!: DailyRowDto[];
}

export class WeeklyReportDto extends ReportMetaDto {
  weekly!: WeeklyRowDto[];
}

export class MonthlyReportDto extends ReportMetaDto {
  monthly!: MonthlyRowDto[];
}

export class SessionsReportDto extends ReportMetaDto {
  sessions!: SessionRowDto[];
}

export type UsageReportDto =
  DailyReportDto | WeeklyReportDto | MonthlyReportDto | SessionsReportDto;
