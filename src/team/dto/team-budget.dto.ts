import { ApiProperty } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsNumber,
  IsOptional,
  IsPositive,
  Matches,
  Max,
  ValidateIf,
} from 'class-validator';
import { IsTimeZone } from '../../common/is-time-zone.validator';
import { propertyRule } from '../../common/property-rule';
import { BUDGET_PERIODS, type BudgetPeriod, WHOLE_TEAM } from '../budgets/team-budget.entity';
import type { TeamBudget } from '../budgets/team-budget.entity';
import { MEMBER_NAME, MEMBER_NAME_RULE } from '../members/team-member.entity';

/** The largest budget (USD) accepted: a typo of a few zeros is refused, not stored. */
export const MAX_BUDGET_USD = 10_000_000;

/** `team: true` and `member` name two different budgets: one of them. */
const NotWithMember = (): PropertyDecorator =>
  propertyRule(
    'notWithMember',
    (value, args) => value !== true || (args.object as { member?: unknown }).member === undefined,
    'give either member or team: true, not both',
  );

/** POST /api/team/budgets: `{member, period, usd}` or `{team: true, period, usd}`. */
export class CreateBudgetDto {
  /** A member's budget (by name); or `team: true`. */
  @ValidateIf((body: CreateBudgetDto) => body.team !== true)
  @Matches(MEMBER_NAME, { message: `member (or team: true): ${MEMBER_NAME_RULE}` })
  member?: string;

  /** The whole team's budget. */
  @IsOptional()
  @IsIn([true], { message: 'team must be true (or leave it out and name a member)' })
  @NotWithMember()
  team?: boolean;

  /** day, week (from Monday) or month. */
  @IsIn(BUDGET_PERIODS)
  period!: BudgetPeriod;

  /** USD per period (our price table's cost), more than 0. */
  // The Swagger plugin reads @IsPositive as `minimum: 1`; a budget of $0.50 is valid.
  @ApiProperty({ minimum: 0, exclusiveMinimum: true, maximum: MAX_BUDGET_USD })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive({ message: 'usd must be more than 0' })
  @Max(MAX_BUDGET_USD)
  usd!: number;

  /** The zone its days, weeks and months are counted in (default UTC). */
  @IsOptional()
  @IsTimeZone()
  timezone?: string;

  /** Model requests through the proxy stop at it (429 billing_error); default false: alerts only. */
  @IsOptional()
  @IsBoolean({ message: 'enforce must be true or false' })
  enforce?: boolean;
}

export class BudgetDto {
  id!: number;
  /** The member, or null for the team's budget. */
  member!: string | null;
  team!: boolean;
  period!: BudgetPeriod;
  usd!: number;
  timezone!: string;
  /** Requests through the proxy stop at it. */
  enforce!: boolean;
  /** YYYY-MM-DD: the local day the current period started on. */
  period_start!: string;
  /** Spent in the current period (USD). */
  spent_usd!: number;
  /** spent / usd × 100 */
  percent!: number;

  static from(row: TeamBudget, start: string, spent: number): BudgetDto {
    return {
      id: row.id,
      member: row.member === WHOLE_TEAM ? null : row.member,
      team: row.member === WHOLE_TEAM,
      period: row.period,
      usd: row.usd,
      timezone: row.timezone,
      enforce: row.enforce,
      period_start: start,
      spent_usd: spent,
      percent: (spent / row.usd) * 100,
    };
  }
}

export class BudgetListDto {
  budgets!: BudgetDto[];
  count!: number;
}
