import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { DatabaseWrites } from '../../database/database-writes';
import { type BudgetPeriod, TeamBudget } from './team-budget.entity';

export interface BudgetValues {
  readonly member: string;
  readonly period: BudgetPeriod;
  readonly usd: number;
  readonly timezone: string | undefined;
  readonly enforce: boolean;
}

/** The team's budgets table. */
@Injectable()
export class BudgetsStore {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: DatabaseWrites,
  ) {}

  /**
   * Sets the member's budget for the period (replacing one set before); a new one only while
   * fewer than `max` exist — otherwise answers null.
   */
  set(values: BudgetValues, now: number, max: number): Promise<TeamBudget | null> {
    return this.writes.transaction(async (m) => {
      const found = await m.findOne(TeamBudget, {
        where: { member: values.member, period: values.period },
      });
      if (found) {
        found.usd = values.usd;
        found.timezone = values.timezone ?? found.timezone;
        found.enforce = values.enforce;
        found.updatedAt = now;
        return m.save(TeamBudget, found);
      }
      if ((await m.count(TeamBudget)) >= max) return null;
      return m.save(
        TeamBudget,
        m.create(TeamBudget, {
          member: values.member,
          period: values.period,
          usd: values.usd,
          timezone: values.timezone ?? 'UTC',
          enforce: values.enforce,
          createdAt: now,
          updatedAt: now,
        }),
      );
    });
  }

  /** Whether a budget with this id was there to remove. */
  async remove(id: number): Promise<boolean> {
    const result = await this.writes.write((m) => m.delete(TeamBudget, { id }));
    return !!result.affected;
  }

  all(): Promise<TeamBudget[]> {
    return this.db.getRepository(TeamBudget).find({ order: { id: 'ASC' } });
  }
}
