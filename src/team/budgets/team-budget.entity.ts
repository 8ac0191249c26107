import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { epochMs } from '../../database/epoch-ms.transformer';

export const BUDGET_PERIODS = ['day', 'week', 'month'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/**
 * A spending budget (docs/design.md §9): the whole team's or one member's, per day, week or month in
 * USD (our price table's cost). Crossing 80 % and 100 % raises an alert once per period.
 */
@Entity('team_budgets')
@Index('IDX_team_budgets_scope', ['member', 'period'], { unique: true })
export class TeamBudget {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  /** A member's name, or `*` for the whole team. */
  @Column({ type: 'varchar', length: 64 })
  member!: string;

  @Column({ type: 'varchar', length: 8 })
  period!: BudgetPeriod;

  @Column({ type: 'double precision' })
  usd!: number;

  /** The zone its days, weeks (from Monday) and months are counted in. */
  @Column({ type: 'varchar', length: 64, default: 'UTC' })
  timezone!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: number;
}

/** The `member` of a team-wide budget. */
export const WHOLE_TEAM = '*';
