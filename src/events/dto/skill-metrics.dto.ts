import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { METRICS_WINDOWS, type MetricsWindow } from '../skill-metrics/skill-metrics.service';

export class SkillMetricsQueryDto {
  /** 1h, 24h (default) or 7d. */
  @IsOptional()
  @IsIn(Object.keys(METRICS_WINDOWS))
  window?: MetricsWindow;

  /** 1–100, default 10. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

export class SkillRowDto {
  skill_name!: string;
  total_invocations!: number;
  completed!: number;
  failed!: number;
  abandoned!: number;
  /** completed / (completed + failed) × 100 */
  completion_rate!: number | null;
  avg_duration_seconds!: number | null;
  p95_duration_seconds!: number | null;
}

export class AnomalyDto {
  skill_name!: string;
  detected_at!: string;
  /** performance_drop, performance_spike or latency_spike */
  anomaly_type!: string;
  /** z-score */
  deviation_score!: number;
  baseline_value!: number;
  observed_value!: number;
}

export class SkillMetricsDto {
  top_skills!: SkillRowDto[];
  anomalies!: AnomalyDto[];
  window!: string;
  generated_at!: string;
}
