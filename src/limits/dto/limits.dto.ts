import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import {
  LIMIT_AGENTS,
  LIMIT_WINDOWS,
  type LimitAgent,
  type LimitWindow,
} from '../limit-observation.entity';

/** One window of Claude Code's `rate_limits`, as its status line input has it. */
export class RateLimitWindowDto {
  /** 0–100. */
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(100)
  used_percentage!: number;

  /** Unix epoch seconds when the window resets. */
  @IsInt()
  @Min(1_500_000_000)
  @Max(4_000_000_000)
  resets_at!: number;
}

export class RateLimitsDto {
  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitWindowDto)
  five_hour?: RateLimitWindowDto;

  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitWindowDto)
  seven_day?: RateLimitWindowDto;
}

/**
 * POST /api/usage/statusline: what `usage-gateway-hook statusline` forwards of Claude Code's
 * status line input (only these fields).
 */
export class StatuslineInputDto {
  @IsOptional()
  @MaxLength(128)
  @Matches(/^[A-Za-z0-9._-]+$/, { message: 'session_id may hold letters, digits and ._- only' })
  session_id?: string;

  /** Claude.ai subscribers (Pro/Max), after the first answer of a session. */
  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitsDto)
  rate_limits?: RateLimitsDto;

  @IsOptional()
  @IsString()
  @MaxLength(128)
  model_id?: string;

  /** `context_window.used_percentage`. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(100)
  context_used_percentage?: number;

  /** `cost.total_cost_usd`: Claude Code's own figure for the session. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1_000_000)
  session_cost_usd?: number;

  @IsOptional()
  @IsString()
  @MaxLength(32)
  version?: string;
}

export class OfficialFigureDto {
  used_percentage!: number;
  /** ISO-8601. */
  resets_at!: string;
  /** When Claude Code last reported it (to the minute). */
  seen_at!: string;
  age_seconds!: number;
}

export class ModelWindowUsageDto {
  model!: string;
  total_tokens!: number;
  cost_usd!: number;
  entries!: number;
}

/** Our log-based usage inside the official window (its start … now). */
export class WindowUsageDto {
  since!: string;
  until!: string;
  input_tokens!: number;
  output_tokens!: number;
  cache_creation_tokens!: number;
  cache_read_tokens!: number;
  total_tokens!: number;
  cost_usd!: number;
  entries!: number;
  @ApiProperty({ type: [ModelWindowUsageDto] })
  models!: ModelWindowUsageDto[];
}

export class CalibrationDto {
  /** Our tokens (all four kinds) per official percent (median of past observations). */
  tokens_per_percent!: number;
  usd_per_percent!: number;
  observations!: number;
}

export class ProjectionDto {
  @ApiProperty({ enum: ['burn_rate', 'official_trend'] })
  basis!: 'burn_rate' | 'official_trend';
  percent_now!: number;
  percent_per_hour!: number;
  /** When 100 % is reached at this rate; null when the window resets first. */
  reaches_100_at!: string | null;
  resets_first!: boolean;
  percent_at_reset!: number;
}

export class LimitPointDto {
  /** ISO-8601: when Claude Code first reported this figure. */
  at!: string;
  used_percentage!: number;
}

export class LimitWindowDto {
  /** Whose official window: Claude Code's (its status line) or Codex's (its rollouts). */
  @ApiProperty({ enum: LIMIT_AGENTS })
  agent!: LimitAgent;
  @ApiProperty({ enum: LIMIT_WINDOWS })
  window!: LimitWindow;
  /** The official figure, or null (see `missing`). */
  official!: OfficialFigureDto | null;
  /** Why there is no official figure: never reported, or its window is over (reset, or too old). */
  @ApiProperty({ enum: ['never_seen', 'expired'], nullable: true })
  missing!: 'never_seen' | 'expired' | null;
  /** `resets_at` − the window's length … `resets_at`. */
  window_start!: string | null;
  window_end!: string | null;
  /** Null without an official window, or when the bridge cannot be asked. */
  ours!: WindowUsageDto | null;
  calibration!: CalibrationDto | null;
  projection!: ProjectionDto | null;
  /** The official figure's changes in this window, oldest first (at most 500). */
  @ApiProperty({ type: [LimitPointDto] })
  history!: LimitPointDto[];
}

export class LimitReachedDto {
  at!: string;
  session_id!: string | null;
}

/** GET /api/usage/limits */
export class LimitsDto {
  /** Whose figures: a team member, or `local` (the single user). */
  member!: string;
  @ApiProperty({ type: [LimitWindowDto] })
  windows!: LimitWindowDto[];
  /** The last time Claude Code stopped on a rate limit (a StopFailure hook). */
  last_limit_reached!: LimitReachedDto | null;
  generated_at!: string;
}
