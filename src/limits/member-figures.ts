import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { CLOCK, type Clock } from '../common/clock';
import { currentBlock, localMidnight } from '../team/reports/member-block';
import type { StatuslineDto } from '../usage/dto/statusline.dto';
import type { WindowUsageDto } from './dto/limits.dto';
import { type Sourced, UsageService } from '../usage/usage.service';

const QUARTER_MS = 15 * 60 * 1000;
const PLANS_FILE = join(__dirname, '..', '..', 'bridge', 'plans.json');

/**
 * A team member's status line figures from the ledger (docs/design.md §9): its session, today, the
 * running block and burn rate, and the plan estimate — its own requests, whichever machine sent
 * them, never the gateway machine's logs. The plan is the stored config's (a team setting).
 */
@Injectable()
export class MemberFigures {
  private plans: Record<string, { tokens?: number }> | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
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
    const mark = (i: number) => (this.db.options.type === 'postgres' ? `$${i}` : '?');
    const [todayRow] = (await this.db.query(
      `SELECT SUM(cost_usd) AS cost, SUM(input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens) AS tokens ` +
        `FROM usage_member_rollups WHERE member = ${mark(1)} AND quarter >= ${fromToday}`,
      [member],
    )) as { cost: string | number | null; tokens: string | number | null }[];
    const quarters = (await this.db.query(
      `SELECT member, quarter, SUM(input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens) AS tokens, ` +
        `SUM(input_tokens + output_tokens) AS limit_tokens, SUM(cost_usd) AS cost ` +
        `FROM usage_member_rollups WHERE member = ${mark(1)} AND quarter >= ${recent} GROUP BY member, quarter HAVING SUM(entries) > 0 ORDER BY quarter`,
      [member],
    )) as {
      member: string;
      quarter: string | number;
      tokens: string | number;
      limit_tokens: string | number;
      cost: string | number;
    }[];
    const [last] = (await this.db.query(
      `SELECT MAX(last_ts) AS last_ts FROM usage_machine_activity WHERE member = ${mark(1)}`,
      [member],
    )) as { last_ts: string | number | null }[];
    const lastTs = last?.last_ts == null ? undefined : Number(last.last_ts);
    const block = currentBlock(quarters, lastTs, now, undefined);
    // The plan's measure: input + output tokens of the block's quarters.
    const blockStart = block ? Date.parse(block.start) / QUARTER_MS : Infinity;
    const limitTokens = quarters
      .filter((q) => Number(q.quarter) >= blockStart)
      .reduce((sum, q) => sum + Number(q.limit_tokens), 0);
    let session: StatuslineDto['session'] = null;
    if (sessionId) {
      const [row] = (await this.db.query(
        `SELECT COUNT(*) AS n, SUM(cost_usd) AS cost, SUM(input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens) AS tokens ` +
          `FROM usage_entries WHERE member = ${mark(1)} AND claude_session = ${mark(2)}`,
        [member, sessionId],
      )) as { n: string | number; cost: string | number | null; tokens: string | number | null }[];
      session = {
        session_id: sessionId,
        found: Number(row?.n ?? 0) > 0,
        cost_usd: Number(row?.cost ?? 0),
        total_tokens: Number(row?.tokens ?? 0),
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
          cost_usd: Number(todayRow?.cost ?? 0),
          total_tokens: Number(todayRow?.tokens ?? 0),
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
  async windows(member: string, ranges: Array<[number, number]>): Promise<WindowUsageDto[]> {
    const mark = (i: number) => (this.db.options.type === 'postgres' ? `$${i}` : '?');
    const out: WindowUsageDto[] = [];
    for (const [since, until] of ranges) {
      const rows = (await this.db.query(
        `SELECT model, SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(cache_creation_tokens) AS cc, ` +
          `SUM(cache_read_tokens) AS cr, SUM(cost_usd) AS cost, COUNT(*) AS n FROM usage_entries ` +
          `WHERE member = ${mark(1)} AND ts >= ${mark(2)} AND ts < ${mark(3)} GROUP BY model`,
        [member, Math.floor(since), Math.max(Math.floor(since), Math.floor(until))],
      )) as Record<string, string | number | null>[];
      const n = (row: Record<string, string | number | null>, key: string) => Number(row[key] ?? 0);
      const models = rows
        .map((row) => ({
          model: String(row.model),
          total_tokens: n(row, 'i') + n(row, 'o') + n(row, 'cc') + n(row, 'cr'),
          cost_usd: n(row, 'cost'),
          entries: n(row, 'n'),
        }))
        .sort((a, b) => b.cost_usd - a.cost_usd);
      const sum = (key: string) => rows.reduce((total, row) => total + n(row, key), 0);
      out.push({
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        input_tokens: sum('i'),
        output_tokens: sum('o'),
        cache_creation_tokens: sum('cc'),
        cache_read_tokens: sum('cr'),
        total_tokens: sum('i') + sum('o') + sum('cc') + sum('cr'),
        cost_usd: sum('cost'),
        entries: sum('n'),
        models,
      });
    }
    return out;
  }

  /** The plan's token limit per block (bridge/plans.json, the bridge's own table). */
  private planTokens(plan: string): number {
    this.plans ??= JSON.parse(readFileSync(PLANS_FILE, 'utf8')) as Record<
      string,
      { tokens?: number }
    >;
    return Number(this.plans[plan]?.tokens ?? 0);
  }
}
