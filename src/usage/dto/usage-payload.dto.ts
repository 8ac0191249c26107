/** Shapes of the bridge's payloads (docs/design.md §6), served unchanged by the usage routes. */

export class TokenCountsDto {
  input_tokens!: number;
  output_tokens!: number;
  cache_creation_tokens!: number;
  cache_read_tokens!: number;
}

export class BurnRateDto {
  tokens_per_minute!: number;
  cost_per_hour!: number;
}

export class SessionBlockDto {
  /** The block's start time (ISO-8601), or gap-<start> for a gap block. */
  id!: string;
  start_time!: string;
  end_time!: string;
  actual_end_time!: string | null;
  is_active!: boolean;
  is_gap!: boolean;
  entries!: number;
  token_counts!: TokenCountsDto;
  total_tokens!: number;
  cost_usd!: number;
  models!: string[];
  sent_messages_count!: number;
  burn_rate!: BurnRateDto | null;
  projection!: Record<string, number> | null;
}

export class PredictionsDto {
  /** When the plan's token limit will be reached at the current rate, if within this block. */
  tokens_run_out!: string | null;
  limit_resets_at!: string | null;
  limit_resets_at_local?: string | null;
}

export class TotalsDto {
  tokens!: number;
  cost_usd!: number;
  messages!: number;
  token_percentage!: number;
  cost_percentage!: number;
  message_percentage!: number;
  time_to_reset_percentage!: number;
}

export class UsageStatsDto {
  current_session!: SessionBlockDto | null;
  recent_sessions!: SessionBlockDto[];
  predictions!: PredictionsDto;
  burn_rate!: BurnRateDto;
  totals!: TotalsDto;
  config_applied!: Record<string, unknown>;
}

export class UsageSessionsDto {
  sessions!: SessionBlockDto[];
  total_count!: number;
  hours_back!: number;
  limit!: number;
  session_id!: string | null;
}

export class UsageSnapshotDto {
  id!: number;
  /** stats or sessions */
  kind!: string;
  /** The normalized request parameters, as JSON. */
  params!: string;
  /** ISO-8601 time the payload was served. */
  created_at!: string;
  payload!: Record<string, unknown>;
}

export class UsageSnapshotListDto {
  snapshots!: UsageSnapshotDto[];
  count!: number;
}
