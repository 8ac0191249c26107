import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CLOCK, type Clock } from '../../common/clock';
import { LimitsService } from '../../limits/limits.service';
import type { LimitObservation, LimitWindow } from '../../limits/limit-observation.entity';
import { WEEKDAYS } from '../../usage/dto/usage-report.dto';
import { localDay } from '../../usage/local-day';
import type {
  MemberOfficialDto,
  MemberUsageDto,
  PeriodUsageDto,
  TeamUsageDto,
  TeamUsageQueryDto,
} from '../dto/team-usage.dto';
import { MemberDirectory } from '../members/member-directory';
import { weekStart } from './team-reports';
import { currentBlock, localMidnight, type QuarterRow } from './member-block';

const QUARTER_MS = 15 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const BLOCK_MS = 5 * HOUR_MS;
const DAY_MS = 24 * HOUR_MS;
/** Machines are those seen in this many days. */
const MACHINE_DAYS = 31;

const period = (cost: unknown, tokens: unknown): PeriodUsageDto => ({
  cost_usd: Number(cost ?? 0),
  total_tokens: Number(tokens ?? 0),
});

/**
 * GET /api/team/usage (docs/design.md §9): per member today / this week / this month, the current
 * 5-hour block and burn rate, last activity, machines and the official limits when its status
 * line reported them — from the roll-ups and a few indexed reads, whatever the ledger's size.
 */
@Injectable()
export class TeamSummary {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly members: MemberDirectory,
    private readonly limits: LimitsService,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  async summary(query: TeamUsageQueryDto): Promise<TeamUsageDto> {
    const now = this.now();
    const timezone = query.timezone ?? 'UTC';
    const today = localDay(now, timezone, 0);
    const week = weekStart(today, WEEKDAYS.indexOf(query.start_of_week ?? 'sunday'));
    const month = `${today.slice(0, 8)}01`;
    const q = (date: string) => Math.floor(localMidnight(date, timezone) / QUARTER_MS);
    const [qToday, qWeek, qMonth] = [q(today), q(week), q(month)];
    const from = Math.min(qWeek, qMonth);
    const sums = (await this.db.query(
      `SELECT member, ` +
        `SUM(CASE WHEN quarter >= ${qToday} THEN cost_usd ELSE 0 END) AS today_cost, ` +
        `SUM(CASE WHEN quarter >= ${qToday} THEN input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens + extra_tokens ELSE 0 END) AS today_tokens, ` +
        `SUM(CASE WHEN quarter >= ${qWeek} THEN cost_usd ELSE 0 END) AS week_cost, ` +
        `SUM(CASE WHEN quarter >= ${qWeek} THEN input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens + extra_tokens ELSE 0 END) AS week_tokens, ` +
        `SUM(CASE WHEN quarter >= ${qMonth} THEN cost_usd ELSE 0 END) AS month_cost, ` +
        `SUM(CASE WHEN quarter >= ${qMonth} THEN input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens + extra_tokens ELSE 0 END) AS month_tokens ` +
        `FROM usage_member_rollups WHERE quarter >= ${from} GROUP BY member`,
    )) as Record<string, string | number | null>[];
    const recentFrom = Math.floor((now - 2 * BLOCK_MS) / QUARTER_MS);
    const [quarters, machines, last, official, codex, directory] = await Promise.all([
      this.db.query(
        `SELECT member, quarter, SUM(input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens + extra_tokens) AS tokens, SUM(cost_usd) AS cost ` +
          `FROM usage_member_rollups WHERE quarter >= ${recentFrom} GROUP BY member, quarter HAVING SUM(entries) > 0 ORDER BY member, quarter`,
      ) as Promise<QuarterRow[]>,
      this.db.query(
        `SELECT member, machine FROM usage_machine_activity WHERE last_ts >= ${now - MACHINE_DAYS * DAY_MS} ORDER BY member, machine`,
      ) as Promise<{ member: string; machine: string }[]>,
      this.db.query(
        'SELECT member, MAX(last_ts) AS last FROM usage_machine_activity GROUP BY member',
      ) as Promise<{ member: string; last: string | number }[]>,
      this.limits.officialOfAll(),
      this.limits.officialOfAll('codex'),
      this.members.list(),
    ]);
    const names = new Set<string>([
      ...directory.filter((m) => m.revokedAt === null).map((m) => m.name),
      ...sums.map((row) => String(row.member)),
    ]);
    const revoked = new Set(directory.filter((m) => m.revokedAt !== null).map((m) => m.name));
    const byMember = new Map(sums.map((row) => [String(row.member), row]));
    const lastOf = new Map(last.map((row) => [row.member, Number(row.last)]));
    const machinesOf = new Map<string, string[]>();
    for (const row of machines)
      machinesOf.set(row.member, [...(machinesOf.get(row.member) ?? []), row.machine]);
    const quartersOf = new Map<string, QuarterRow[]>();
    for (const row of quarters)
      quartersOf.set(row.member, [...(quartersOf.get(row.member) ?? []), row]);

    const members: MemberUsageDto[] = [...names].sort().map((member) => {
      const row = byMember.get(member) ?? {};
      const figures = official.get(member) ?? {};
      const lastActivity = lastOf.get(member);
      return {
        member,
        revoked: revoked.has(member),
        today: period(row.today_cost, row.today_tokens),
        week: period(row.week_cost, row.week_tokens),
        month: period(row.month_cost, row.month_tokens),
        block: currentBlock(quartersOf.get(member) ?? [], lastActivity, now, figures.five_hour),
        last_activity: lastActivity ? new Date(lastActivity).toISOString() : null,
        machines: machinesOf.get(member) ?? [],
        official: officialOf(figures),
        official_codex: officialOf(codex.get(member) ?? {}),
      };
    });
    const total = (key: 'today' | 'week' | 'month'): PeriodUsageDto => ({
      cost_usd: members.reduce((s, m) => s + m[key].cost_usd, 0),
      total_tokens: members.reduce((s, m) => s + m[key].total_tokens, 0),
    });
    return {
      timezone,
      today,
      week_start: week,
      month_start: month,
      members,
      totals: { today: total('today'), week: total('week'), month: total('month') },
      generated_at: new Date(now).toISOString(),
    };
  }
}

function officialOf(figures: Partial<Record<LimitWindow, LimitObservation>>): MemberOfficialDto {
  const one = (row: LimitObservation | undefined) =>
    row && row.usedPercentage !== null && row.resetsAt !== null
      ? { used_percentage: row.usedPercentage, resets_at: new Date(row.resetsAt).toISOString() }
      : null;
  return { five_hour: one(figures.five_hour), seven_day: one(figures.seven_day) };
}
