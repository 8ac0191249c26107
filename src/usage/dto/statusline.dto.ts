import { IsOptional, Matches, MaxLength } from 'class-validator';

/** GET /api/usage/statusline */
export class StatuslineQueryDto {
  /** Claude Code's session id (the status line JSON's `session_id`). */
  @IsOptional()
  @MaxLength(128)
  @Matches(/^[A-Za-z0-9._-]+$/, { message: 'session_id may hold letters, digits and ._- only' })
  session_id?: string;
}

export class StatuslineSessionDto {
  session_id!: string;
  /** Whether the bridge has seen this session's log yet. */
  found!: boolean;
  cost_usd!: number;
  total_tokens!: number;
}

export class StatuslineTodayDto {
  /** YYYY-MM-DD in `timezone` (days start at the config's reset_hour). */
  date!: string;
  timezone!: string;
  cost_usd!: number;
  total_tokens!: number;
}

export class StatuslineBlockDto {
  cost_usd!: number;
  total_tokens!: number;
  start_time!: string;
  end_time!: string;
  /** Whole minutes until the block ends, by the gateway's clock. */
  minutes_left!: number;
}

export class StatuslineLimitDto {
  plan!: string;
  /** The plan's token limit per block (input + output tokens). */
  tokens!: number;
  /** How much of it the current block has used. */
  percentage!: number;
  /** When the limit will be reached at the current rate, if within this block. */
  tokens_run_out!: string | null;
}

export class StatuslineBurnRateDto {
  tokens_per_minute!: number;
  cost_per_hour!: number;
}

/** One official window as the status line shows it. */
export class StatuslineOfficialWindowDto {
  used_percentage!: number;
  /** ISO-8601. */
  resets_at!: string;
  age_seconds!: number;
}

/** Claude Code's own limit figures (status line `rate_limits`), when it has reported them. */
export class StatuslineOfficialDto {
  five_hour!: StatuslineOfficialWindowDto | null;
  seven_day!: StatuslineOfficialWindowDto | null;
}

/** The figures of Claude Code's status line, in one small payload. */
export class StatuslineDto {
  session!: StatuslineSessionDto | null;
  today!: StatuslineTodayDto;
  block!: StatuslineBlockDto | null;
  burn_rate!: StatuslineBurnRateDto | null;
  limit!: StatuslineLimitDto;
  /** Claude Code's official 5-hour and 7-day figures (null windows when none are current). */
  official!: StatuslineOfficialDto;
  generated_at!: string;
}

/** The bridge's `/usage/claude-session` answer. */
export interface ClaudeSessionUsage {
  readonly session_id: string;
  readonly found: boolean;
  readonly cost_usd: number;
  readonly total_tokens: number;
}
