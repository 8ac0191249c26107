import type { LimitAgent } from './limit-observation.entity';
import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { LedgerReads, type ModelUsageRow } from '../team/ledger/ledger-reads';
import { currentBlock, localMidnight } from '../team/reports/member-block';
import type { StatuslineDto } from '../usage/dto/statusline.dto';
import type { WindowUsageDto } from './dto/limits.dto';
import { PLAN_LIMITS } from '../usage/plans';
import type { Sourced } from '../usage/usage-params';
import { UsageService } from '../usage/usage.service';

const QUARTER_MS = 15 * 60 * 1000;

/**
 * A team member's status line figures from the ledger (docs/design.md §9): its session, today, the
 * running block and burn rate, and the plan estimate — its own requests, whichever machine sent
 * them, never the gateway machine's logs. The plan is the stored config's (a team setting).
 */
@Injectable()
export class MemberFigures {
  constructor(
    private readonly ledger: LedgerReads,
    private readonly usage: UsageService,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  async figures(member: string, sessionId: string | undefined): Promise<Sourced<StatuslineDto>> {
    const now = this.now();
    const params = await this.usage.todayParams();
    const timezone = String(params.timezone);
    const today = String(params.since);
    const fromToday = Math.floor(localMidnight(today, timezone) / QUARTER_MS);
    const recent = Math.floor((now - 10 * 60 * 60 * 1000) / QUARTER_MS);
    const todayTotal = await this.ledger.totalSince(member, fromToday, 'claude');
    const quarters = await this.ledger.quarters(member, recent);
    const lastTs = await this.ledger.lastActivity(member);
    const block = currentBlock(quarters, lastTs, now, undefined);
    // The plan's measure: input + output tokens of the block's quarters.
    const blockStart = block ? Date.parse(block.start) / QUARTER_MS : Infinity;
    const limitTokens = quarters
      .filter((q) => Number(q.quarter) >= blockStart)
      .reduce((sum, q) => sum + Number(q.limit_tokens), 0);
    let session: StatuslineDto['session'] = null;
    if (sessionId) {
      const found = await this.ledger.session(member, sessionId);
      session = {
        session_id: sessionId,
        found: found.entries > 0,
        cost_usd: found.costUsd,
        total_tokens: found.tokens,
      };
    }
    const plan = String((await this.usage.statsParams({})).plan ?? 'pro');
    const planTokens = this.planTokens(plan);
    return {
      source: 'database',
      ageSeconds: null,
      payload: {
        session,
        today: {
          date: today,
          timezone,
          cost_usd: todayTotal.costUsd,
          total_tokens: todayTotal.tokens,
        },
        block: block
          ? {
              cost_usd: block.cost_usd,
              total_tokens: block.total_tokens,
              start_time: block.start,
              end_time: block.end,
              minutes_left: Math.max(0, Math.round((Date.parse(block.end) - now) / 60_000)),
            }
          : null,
        burn_rate: block
          ? { tokens_per_minute: block.tokens_per_minute, cost_per_hour: block.cost_per_hour }
          : null,
        limit: {
          plan,
          tokens: planTokens,
          percentage: planTokens > 0 ? (limitTokens / planTokens) * 100 : 0,
          tokens_run_out: null,
        },
        official: { five_hour: null, seven_day: null },
        generated_at: new Date(now).toISOString(),
      },
    };
  }

  /** The member's usage in each range [since, until) (epoch ms), per model — its ledger rows. */
  async windows(
    member: string,
    ranges: Array<[number, number]>,
    agent: LimitAgent = 'claude',
  ): Promise<WindowUsageDto[]> {
    const out: WindowUsageDto[] = [];
    for (const [since, until] of ranges) {
      const rows = await this.ledger.byModel(member, since, until, agent);
      const tokens = (r: ModelUsageRow) =>
        r.inputTokens + r.outputTokens + r.cacheCreationTokens + r.cacheReadTokens + r.extraTokens;
      const models = rows
        .map((row) => ({
          model: row.model,
          total_tokens: tokens(row),
          cost_usd: row.costUsd,
          entries: row.entries,
        }))
        .sort((a, b) => b.cost_usd - a.cost_usd);
      const sum = (key: Exclude<keyof ModelUsageRow, 'model'>) =>
        rows.reduce((total, row) => total + row[key], 0);
      out.push({
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        input_tokens: sum('inputTokens'),
        output_tokens: sum('outputTokens'),
        cache_creation_tokens: sum('cacheCreationTokens'),
        cache_read_tokens: sum('cacheReadTokens'),
        total_tokens: rows.reduce((total, row) => total + tokens(row), 0),
        cost_usd: sum('costUsd'),
        entries: sum('entries'),
        models,
      });
    }
    return out;
  }

  /** The plan's token limit per block (bridge/plans.json, the bridge's own table). */
  private planTokens(plan: string): number {
    return PLAN_LIMITS[plan]?.tokens ?? 0;
  }
}
