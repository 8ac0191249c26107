import { IsIn, IsISO8601, IsOptional, Matches } from 'class-validator';
import { IsTimeZone } from '../../common/is-time-zone.validator';
import { WEEKDAYS } from '../../usage/dto/usage-report.dto';
import { MEMBER_NAME, MEMBER_NAME_RULE } from '../members/team-member.entity';

/** GET /api/team/usage/metrics */
export class TeamMetricsQueryDto {
  /** ISO-8601; default 24 hours before `until`. */
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'since must be an ISO-8601 time' })
  since?: string;

  /** ISO-8601; default now. */
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'until must be an ISO-8601 time' })
  until?: string;

  @IsOptional()
  @Matches(MEMBER_NAME, { message: `member: ${MEMBER_NAME_RULE}` })
  member?: string;
}

export class MetricTotalDto {
  member!: string;
  /** Without `claude_code.`: token.usage, cost.usage, session.count, lines_of_code.count, … */
  metric!: string;
  /** The series: its `type`, `model`, `tool_name`, `decision` joined by `|` (those present). */
  label!: string;
  value!: number;
}

export class TeamMetricsDto {
  since!: string;
  until!: string;
  metrics!: MetricTotalDto[];
}

/** GET /api/team/usage */
export class TeamUsageQueryDto {
  /** An IANA time zone for today, this week and this month (default UTC). */
  @IsOptional()
  @IsTimeZone()
  timezone?: string;

  /** The day weeks start on (default sunday, as the reports). */
  @IsOptional()
  @IsIn(WEEKDAYS)
  start_of_week?: (typeof WEEKDAYS)[number];
}

export class PeriodUsageDto {
  cost_usd!: number;
  total_tokens!: number;
}

export class MemberBlockDto {
  /** ISO-8601: the block's start (the hour of its first request) and end (5 hours later). */
  start!: string;
  end!: string;
  total_tokens!: number;
  cost_usd!: number;
  /** Claude Code's official 5-hour figure when the member's status line reported one, else null. */
  percent!: number | null;
  /** How much of the block's 5 hours has passed. */
  elapsed_percent!: number;
  tokens_per_minute!: number;
  cost_per_hour!: number;
}

export class OfficialWindowDto {
  used_percentage!: number;
  /** ISO-8601. */
  resets_at!: string;
}

export class MemberOfficialDto {
  five_hour!: OfficialWindowDto | null;
  seven_day!: OfficialWindowDto | null;
}

export class MemberUsageDto {
  member!: string;
  /** Revoked members keep their history (and are listed while it is in the month). */
  revoked!: boolean;
  today!: PeriodUsageDto;
  week!: PeriodUsageDto;
  month!: PeriodUsageDto;
  /** The current 5-hour block (from quarter-hour sums), null when none is running. */
  block!: MemberBlockDto | null;
  /** ISO-8601 of the latest request in the ledger, null when none. */
  last_activity!: string | null;
  /** Machines that sent usage in the last 31 days. */
  machines!: string[];
  /** Claude Code's official windows (its status line). */
  official!: MemberOfficialDto;
  /** Codex's official windows (its rollouts, sent with the member's push). */
  official_codex!: MemberOfficialDto;
}

export class TeamTotalsDto {
  today!: PeriodUsageDto;
  week!: PeriodUsageDto;
  month!: PeriodUsageDto;
}

export class TeamUsageDto {
  timezone!: string;
  /** YYYY-MM-DD: the local days the periods start on. */
  today!: string;
  week_start!: string;
  month_start!: string;
  members!: MemberUsageDto[];
  totals!: TeamTotalsDto;
  generated_at!: string;
}
