import type { QueryParams } from '../bridge/bridge-client';
import type { UsageSessionsDto, UsageStatsDto } from './dto/usage-payload.dto';
import type { ReportKind, UsageReportDto } from './dto/usage-report.dto';
import type { ClaudeSessionUsage } from './dto/statusline.dto';
import { PLAN_LIMITS } from './plans';

/** A stats payload of the bridge's shape with nothing in it: no data, said honestly. */
export function defaultStats(params: QueryParams): UsageStatsDto {
  const plan = String(params.plan ?? 'pro');
  const custom =
    params.custom_limit_tokens === undefined ? null : Number(params.custom_limit_tokens);
  // custom shows pro's limits until the bridge computes its P90.
  const limits = PLAN_LIMITS[plan] ?? {
    ...PLAN_LIMITS.pro,
    tokens: custom ?? PLAN_LIMITS.pro.tokens,
  };
  return {
    current_session: null,
    recent_sessions: [],
    predictions: { tokens_run_out: null, limit_resets_at: null, limit_resets_at_local: null },
    burn_rate: { tokens_per_minute: 0, cost_per_hour: 0 },
    totals: {
      tokens: 0,
      cost_usd: 0,
      messages: 0,
      token_percentage: 0,
      cost_percentage: 0,
      message_percentage: 0,
      time_to_reset_percentage: 0,
    },
    config_applied: {
      plan,
      custom_limit_tokens: custom,
      timezone: String(params.timezone ?? 'UTC'),
      reset_hour: params.reset_hour === undefined ? null : Number(params.reset_hour),
      limits,
    },
  };
}

export function defaultSessions(params: QueryParams): UsageSessionsDto {
  return {
    sessions: [],
    total_count: 0,
    hours_back: Number(params.hours_back),
    limit: Number(params.limit),
    session_id: (params.session_id as string | undefined) ?? null,
  };
}

/** A report with no rows and zero totals: no data, said honestly (X-Data-Source: default). */
export function defaultReport(kind: ReportKind, params: QueryParams): UsageReportDto {
  const totals = {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_tokens: 0,
    cache_read_tokens: 0,
    reasoning_output_tokens: 0,
    total_tokens: 0,
    cost_usd: 0,
  };
  return {
    [kind]: [],
    totals,
    timezone: String(params.timezone ?? 'UTC'),
    order: params.order === 'desc' ? 'desc' : 'asc',
    reset_hour: Number(params.reset_hour ?? 0),
    agent: String(params.agent ?? 'all'),
    unpriced_models: [],
  } as unknown as UsageReportDto;
}

/** A Claude Code session the gateway cannot ask about: not found, zero. */
export function defaultClaudeSession(params: QueryParams): ClaudeSessionUsage {
  return {
    session_id: String(params.session_id ?? ''),
    found: false,
    cost_usd: 0,
    total_tokens: 0,
  };
}
