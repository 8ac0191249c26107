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

  /** Model requests through the proxy stop at it (429 billing_error), not only alerts (docs/proxy.md). */
  @Column({ type: 'boolean', default: false })
  enforce!: boolean;

  /** The zone its days, weeks (from Monday) and months are counted in. */
  @Column({ type: 'varchar', length: 64, default: 'UTC' })
  timezone!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: number;
}

/**
 * What a request through the proxy holds against an enforced budget while it runs: its estimate
 * (input from the request's size, output from `max_tokens`, at the model's prices), taken back when
 * its real usage is in the ledger — so concurrent requests cannot spend past the budget
 * (docs/proxy.md "Budgets that stop spend").
 */
@Entity('proxy_reservations')
@Index('IDX_proxy_reservations_budget', ['budgetId', 'expiresAt'])
export class ProxyReservation {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  /** One request's reservations (one per budget it is under) share it. */
  @Column({ type: 'varchar', length: 36 })
  request!: string;

  @Column({ name: 'budget_id', type: 'integer' })
  budgetId!: number;

  @Column({ type: 'double precision' })
  usd!: number;

  /** A reservation its instance never took back (it died) no longer counts after this. */
  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: number;
}

/** The `member` of a team-wide budget. */
export const WHOLE_TEAM = '*';
