import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import type { AlertSeverity, AlertType } from '../alert.entity';

/** An alert as webhooks, sockets and GET /api/alerts see it (docs/design.md §8). */
export class AlertDto {
  id!: number;
  /** What it is about, e.g. limit_threshold:2026-11-30T09:00:00.000Z:80 (one alert per key). */
  key!: string;
  /**
   * limit_threshold, limit_predicted, skill_anomaly, bridge_failed, bridge_recovered,
   * official_limit, official_limit_predicted or limit_reached
   */
  type!: AlertType;
  /** info, warning or critical */
  severity!: AlertSeverity;
  title!: string;
  /** One readable sentence (Slack-compatible incoming webhooks show it). */
  text!: string;
  data!: Record<string, unknown>;
  /** Epoch ms */
  timestamp!: number;
}

export class AlertListDto {
  alerts!: AlertDto[];
  count!: number;
}

/** GET /api/alerts */
export class AlertsQueryDto {
  /** 1–1000, default 100 */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  /** The next alerts after this id, oldest first (page forward with the last id seen). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after_id?: number;
}
