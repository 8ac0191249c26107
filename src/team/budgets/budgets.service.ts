import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CLOCK, type Clock } from '../../common/clock';
import { DatabaseWrites } from '../../database/database-writes';
import { localDay } from '../../usage/local-day';
import { BudgetDto, type CreateBudgetDto } from '../dto/team-budget.dto';
import { weekStart } from '../reports/team-reports';
import { localMidnight } from '../reports/member-block';
import { type BudgetPeriod, TeamBudget, WHOLE_TEAM } from './team-budget.entity';

/** Budgets a team may have. */
export const MAX_BUDGETS = 1_000;
const QUARTER_MS = 15 * 60 * 1000;

/** The local day the period holding `now` started on (weeks from Monday). */
export function periodStart(period: BudgetPeriod, now: number, timeZone: string): string {
  const today = localDay(now, timeZone, 0);
  if (period === 'day') return today;
  if (period === 'week') return weekStart(today, 1);
  return `${today.slice(0, 8)}01`;
}

/** Budgets (docs/design.md §9) and what has been spent against them in their current period. */
@Injectable()
export class BudgetsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: DatabaseWrites,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /** Sets a budget (a second one for the same member and period replaces the first). */
  async set(body: CreateBudgetDto): Promise<BudgetDto> {
    const member = body.team ? WHOLE_TEAM : (body.member as string);
    const now = this.now();
    const row = await this.writes.transaction(async (m) => {
      const found = await m.findOne(TeamBudget, { where: { member, period: body.period } });
      if (found) {
        found.usd = body.usd;
        found.timezone = body.timezone ?? found.timezone;
        found.updatedAt = now;
        return m.save(TeamBudget, found);
      }
      if ((await m.count(TeamBudget)) >= MAX_BUDGETS)
        throw new ConflictException(`a team has at most ${MAX_BUDGETS} budgets`);
      return m.save(
        TeamBudget,
        m.create(TeamBudget, {
          member,
          period: body.period,
          usd: body.usd,
          timezone: body.timezone ?? 'UTC',
          createdAt: now,
          updatedAt: now,
        }),
      );
    });
    return this.statusOf(row, now);
  }

  async remove(id: number): Promise<void> {
    const result = await this.writes.write((m) => m.delete(TeamBudget, { id }));
    if (!result.affected) throw new NotFoundException(`no budget ${id}`);
  }

  /** Every budget with what was spent in its current period. */
  async status(): Promise<BudgetDto[]> {
    const now = this.now();
    const rows = await this.db.getRepository(TeamBudget).find({ order: { id: 'ASC' } });
    return Promise.all(rows.map((row) => this.statusOf(row, now)));
  }

  private async statusOf(row: TeamBudget, now: number): Promise<BudgetDto> {
    const start = periodStart(row.period, now, row.timezone);
    const from = Math.floor(localMidnight(start, row.timezone) / QUARTER_MS);
    const postgres = this.db.options.type === 'postgres';
    const [sum] = (await (row.member === WHOLE_TEAM
      ? this.db.query(
          `SELECT SUM(cost_usd) AS spent FROM usage_team_rollups WHERE quarter >= ${from}`,
        )
      : this.db.query(
          `SELECT SUM(cost_usd) AS spent FROM usage_member_rollups WHERE member = ${postgres ? '$1' : '?'} AND quarter >= ${from}`,
          [row.member],
        ))) as { spent: string | number | null }[];
    return BudgetDto.from(row, start, Number(sum?.spent ?? 0));
  }
}
