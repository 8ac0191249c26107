import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsTimeZone } from '../../common/is-time-zone.validator';
import { SNAPSHOT_KINDS, type SnapshotKind } from '../usage-snapshot.entity';

export const PLANS = ['pro', 'max5', 'max20', 'custom'] as const;
export const THEMES = ['auto', 'light', 'dark', 'classic'] as const;
export type Plan = (typeof PLANS)[number];
export type Theme = (typeof THEMES)[number];

/** GET /api/usage/stats: every parameter optional; absent ones come from the stored config. */
export class UsageStatsQueryDto {
  /** pro, max5, max20 or custom */
  @IsOptional()
  @IsIn(PLANS)
  plan?: Plan;

  /** Token limit for plan=custom; absent means the P90 of recent blocks. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000_000_000)
  custom_limit_tokens?: number;

  /** An IANA time zone, e.g. Europe/Berlin */
  @IsOptional()
  @IsTimeZone()
  timezone?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(23)
  reset_hour?: number;

  @IsOptional()
  @IsIn(THEMES)
  theme?: Theme;
}

/** GET /api/usage/sessions */
export class UsageSessionsQueryDto {
  /** Window in hours, 1–720 (default 24). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(720)
  hours_back?: number;

  /** At most this many blocks, newest kept (1–1000, default 100). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  /** A block id such as 2026-11-20T09:00:00.000Z */
  @IsOptional()
  @MaxLength(128)
  @Matches(/^[A-Za-z0-9._:+-]+$/, { message: 'session_id may hold letters, digits and ._:+- only' })
  session_id?: string;
}

/** GET /api/usage/snapshots */
export class SnapshotsQueryDto {
  /** stats, sessions, report:daily, report:weekly, report:monthly or report:sessions */
  @IsOptional()
  @IsIn(SNAPSHOT_KINDS)
  kind?: SnapshotKind;

  /** ISO-8601 time; only snapshots taken at or after it. */
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
