import { IsISO8601, IsOptional, Matches } from 'class-validator';
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
