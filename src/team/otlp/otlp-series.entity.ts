import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs } from '../../database/epoch-ms.transformer';

/**
 * Claude Code's counters (`claude_code.token.usage`, `cost.usage`, `session.count`,
 * `lines_of_code.count`, `commit.count`, `pull_request.count`, `active_time.total`,
 * `code_edit_tool.decision`) per member per minute (docs/design.md §9), as deltas.
 */
@Entity('usage_metric_minutes')
export class UsageMetricMinute {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  member!: string;

  /** epoch ms / 60,000 */
  @PrimaryColumn({ type: 'bigint', transformer: epochMs })
  minute!: number;

  /** Without the `claude_code.` prefix: `token.usage`, `cost.usage`, … */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  metric!: string;

  /** The series within it: `type`, `model`, `tool_name`, `decision` joined by `|` (those present). */
  @PrimaryColumn({ type: 'varchar', length: 200 })
  label!: string;

  @Column({ type: 'double precision' })
  value!: number;
}

/** Data points already counted (an exporter resends a batch it got no answer for). */
@Entity('otlp_points')
@Index('IDX_otlp_points_received_at', ['receivedAt'])
export class OtlpPoint {
  /** SHA-256 of member, metric, attributes, start and end time. */
  @PrimaryColumn({ name: 'point_key', type: 'varchar', length: 64 })
  pointKey!: string;

  @Column({ name: 'received_at', type: 'bigint', transformer: epochMs })
  receivedAt!: number;
}

/** The last value of a cumulative series, to turn the next one into a delta. */
@Entity('otlp_series')
export class OtlpSeries {
  @PrimaryColumn({ name: 'series_key', type: 'varchar', length: 64 })
  seriesKey!: string;

  /** startTimeUnixNano of the series' current run (a new one: the process restarted). */
  @Column({ name: 'start_ns', type: 'varchar', length: 24 })
  startNs!: string;

  @Column({ name: 'time_ns', type: 'varchar', length: 24 })
  timeNs!: string;

  @Column({ type: 'double precision' })
  value!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: number;
}
