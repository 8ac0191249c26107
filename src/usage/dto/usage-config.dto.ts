import { IsIn, IsInt, IsOptional, Max, Min, ValidateIf } from 'class-validator';
import { IsTimeZone } from '../../common/is-time-zone.validator';
import { PLANS, type Plan, THEMES, type Theme } from './usage-query.dto';

/** POST /api/usage/config: the fields to change; unknown fields are refused. */
export class UpdateUsageConfigDto {
  @IsOptional()
  @IsIn(PLANS)
  plan?: Plan;

  /** A positive integer, or null for "P90 of recent blocks" with plan custom. */
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsInt()
  @Min(1)
  @Max(1_000_000_000_000)
  custom_limit_tokens?: number | null;

  @IsOptional()
  @IsTimeZone()
  timezone?: string;

  /** 0–23, or null. */
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsInt()
  @Min(0)
  @Max(23)
  reset_hour?: number | null;

  @IsOptional()
  @IsIn(THEMES)
  theme?: Theme;
}

/** The usage config (docs/design.md §6 UsageConfig). */
export class UsageConfigDto {
  plan!: Plan;
  custom_limit_tokens!: number | null;
  timezone!: string;
  reset_hour!: number | null;
  theme!: Theme;
  /** ISO-8601 time of the last change. */
  updated_at!: string;
}

/** Answer of a config change: stored first, then pushed to the bridge. */
export class UsageConfigResultDto {
  success!: boolean;
  message!: string;
  data!: UsageConfigDto;
  /** Whether the bridge applied it now; false: stored, pushed automatically when the bridge is back. */
  fromBridge!: boolean;
}
