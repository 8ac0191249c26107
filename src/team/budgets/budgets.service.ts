import { Inject, Injectable } from '@nestjs/common';
import { ConflictError, NotFoundError } from '../../common/app-error';
import { CLOCK, type Clock } from '../../common/clock';
import { LedgerReads } from '../ledger/ledger-reads';
import { localDay } from '../../usage/local-day';
import { BudgetDto, type CreateBudgetDto } from '../dto/team-budget.dto';
import { weekStart } from '../reports/team-reports';
import { localMidnight } from '../reports/member-block';
import { BudgetsStore } from './budgets.store';
import { type BudgetPeriod, type TeamBudget, WHOLE_TEAM } from './team-budget.entity';

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
    private readonly budgets: BudgetsStore,
    private readonly ledger: LedgerReads,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /** Sets a budget (a second one for the same member and period replaces the first). */
  async set(body: CreateBudgetDto): Promise<BudgetDto> {
    const member = body.team ? WHOLE_TEAM : (body.member as string);
    const now = this.now();
    const row = await this.budgets.set(
      {
        member,
        period: body.period,
        usd: body.usd,
        timezone: body.timezone,
        enforce: body.enforce ?? false,
      },
      now,
      MAX_BUDGETS,
    );
    if (!row) throw new ConflictError(`a team has at most ${MAX_BUDGETS} budgets`);
    return this.statusOf(row, now);
  }

  async remove(id: number): Promise<void> {
    if (!(await this.budgets.remove(id))) throw new NotFoundError(`no budget ${id}`);
  }

  /** Every budget with what was spent in its current period. */
  async status(): Promise<BudgetDto[]> {
    const now = this.now();
    const rows = await this.budgets.all();
    return Promise.all(rows.map((row) => this.statusOf(row, now)));
  }

  private async statusOf(row: TeamBudget, now: number): Promise<BudgetDto> {
    const start = periodStart(row.period, now, row.timezone);
    const from = Math.floor(localMidnight(start, row.timezone) / QUARTER_MS);
    const spent = await this.ledger.totalSince(
      row.member === WHOLE_TEAM ? undefined : row.member,
      from,
    );
    return BudgetDto.from(row, start, spent.costUsd);
  }
}
