/** Requests let through while enforced budgets could not be checked (the database away). */
export const BUDGETS_UNCHECKED = 'proxy.budgets_unchecked';

/** An episode of unchecked requests, told once the budgets can be checked again. */
export interface BudgetsUncheckedEvent {
  /** Epoch ms of the first and the last request let through unchecked. */
  readonly from: number;
  readonly to: number;
  readonly requests: number;
}
