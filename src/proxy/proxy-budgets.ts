import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { CLOCK, type Clock } from '../common/clock';
import { DatabaseWrites } from '../database/database-writes';
import { lockInOrder, SqlParams } from '../database/sql';
import { periodStart } from '../team/budgets/budgets.service';
import {
  type BudgetPeriod,
  ProxyReservation,
  TeamBudget,
  WHOLE_TEAM,
} from '../team/budgets/team-budget.entity';
import { LedgerReads } from '../team/ledger/ledger-reads';
import { localMidnight } from '../team/reports/member-block';

const QUARTER_MS = 15 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How long the enforced budgets are read again at most (a new one applies within this). */
export const BUDGETS_FRESH_MS = 1000;
/** A reservation its instance never took back (it died mid-request) stops counting after this. */
export const RESERVATION_TTL_MS = 60 * 60 * 1000;
/** pg_advisory_xact_lock's first key: one budget's admissions take turns. */
const BUDGET_LOCK_SPACE = 0x42756467;

/** Why a request may not start: the budget reached, and when it resets. */
export interface Refusal {
  readonly message: string;
  /** Epoch ms of the budget's next period. */
  readonly resetsAt: number;
}

export type Admission =
  | { readonly admitted: true; readonly release: () => Promise<void> }
  | { readonly admitted: false; readonly refusal: Refusal };

const NOTHING_HELD = async () => undefined;

/** The local day after `date` (YYYY-MM-DD) by `days`, or the first of the next month. */
function nextStart(period: BudgetPeriod, start: string): string {
  if (period === 'month') {
    const [y, m] = start.split('-').map(Number);
    return new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
  }
  const days = period === 'day' ? 1 : 7;
  return new Date(Date.parse(`${start}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

const dollars = (usd: number) => `$${usd.toFixed(2)}`;

/**
 * Budgets that stop spend (docs/proxy.md): before a request goes upstream, its estimate is held
 * against every enforced budget over its member (the member's and the team's) — in one
 * transaction per admission that takes the budgets' locks in order (PostgreSQL advisory locks;
 * SQLite's writes take turns anyway), reads the period's spend from the ledger and what requests
 * running on every instance hold, and refuses when the estimate would pass the budget. The hold is
 * released when the request's usage is in the ledger.
 */
@Injectable()
export class ProxyBudgets {
  private cached: { readonly at: number; readonly budgets: readonly TeamBudget[] } | undefined;
  private loading: Promise<readonly TeamBudget[]> | undefined;
  /** Per budget set, the last admission waiting or running on this instance. */
  private readonly turns = new Map<string, Promise<void>>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writes: DatabaseWrites,
    private readonly ledger: LedgerReads,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /**
   * Holds the request's estimate (worked out only when a budget applies) against the member's
   * enforced budgets, or says which one is reached.
   */
  async admit(member: string, estimate: () => number): Promise<Admission> {
    const budgets = (await this.enforced()).filter(
      (b) => b.member === WHOLE_TEAM || b.member === member,
    );
    if (budgets.length === 0) return { admitted: true, release: NOTHING_HELD };
    const estimateUsd = estimate();
    const request = randomUUID();
    // One admission per budget set at a time on this instance: the others wait here, not holding a
    // database connection while they wait for the lock (the pool is the ledger's too).
    const key = budgets.map((b) => b.id).join(',');
    const before = this.turns.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const turn = before.then(() => mine);
    this.turns.set(key, turn);
    await before;
    const refusal = await this.decide(budgets, request, estimateUsd).finally(() => {
      done();
      if (this.turns.get(key) === turn) this.turns.delete(key);
    });
    if (refusal) return { admitted: false, refusal };
    return {
      admitted: true,
      release: async () => {
        await this.writes.write((m) => m.delete(ProxyReservation, { request }));
      },
    };
  }

  /** The admission itself: the budgets' locks, their spend and holds, a refusal or the holds. */
  private decide(
    budgets: readonly TeamBudget[],
    request: string,
    estimateUsd: number,
  ): Promise<Refusal | undefined> {
    return this.writes.transaction(async (m) => {
      await lockInOrder(
        m,
        BUDGET_LOCK_SPACE,
        budgets.map((b) => String(b.id)),
      );
      const now = this.now();
      for (const budget of budgets) {
        const start = periodStart(budget.period, now, budget.timezone);
        const spent = await this.ledger.totalSince(
          budget.member === WHOLE_TEAM ? undefined : budget.member,
          Math.floor(localMidnight(start, budget.timezone) / QUARTER_MS),
          undefined,
          m,
        );
        const p = SqlParams.for(m);
        const [held] = (await m.query(
          `SELECT COALESCE(SUM(usd), 0) AS usd FROM proxy_reservations ` +
            `WHERE budget_id = ${p.value(budget.id)} AND expires_at > ${p.value(now)}`,
          p.values,
        )) as { usd: string | number }[];
        const running = Number(held.usd);
        if (spent.costUsd + running + estimateUsd <= budget.usd) continue;
        const next = nextStart(budget.period, start);
        const resetsAt = localMidnight(next, budget.timezone);
        const whose = budget.member === WHOLE_TEAM ? 'the team' : budget.member;
        return {
          message:
            `usage-gateway: the budget of ${dollars(budget.usd)} per ${budget.period} for ${whose} ` +
            `is reached (${dollars(spent.costUsd)} spent, ${dollars(running)} held by requests running, ` +
            `this one needs up to ${dollars(estimateUsd)}); it resets at ${next} 00:00 ${budget.timezone}`,
          resetsAt,
        };
      }
      // Holds of instances that died mid-request no longer count; they go here.
      const gone = SqlParams.for(m);
      await m.query(
        `DELETE FROM proxy_reservations WHERE expires_at <= ${gone.value(now)}`,
        gone.values,
      );
      await m.insert(
        ProxyReservation,
        budgets.map((b) => ({
          request,
          budgetId: b.id,
          usd: estimateUsd,
          expiresAt: now + RESERVATION_TTL_MS,
        })),
      );
      return undefined;
    });
  }

  /** The enforced budgets, read again when older than BUDGETS_FRESH_MS (one read at a time). */
  private async enforced(): Promise<readonly TeamBudget[]> {
    const now = this.now();
    if (this.cached && now - this.cached.at < BUDGETS_FRESH_MS) return this.cached.budgets;
    this.loading ??= this.db
      .getRepository(TeamBudget)
      .find({ where: { enforce: true }, order: { id: 'ASC' } })
      .then((budgets) => {
        this.cached = { at: now, budgets };
        return budgets;
      })
      .finally(() => (this.loading = undefined));
    return this.loading;
  }
}
