import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PlanLimits {
  readonly tokens: number;
  readonly cost_usd: number;
  readonly messages: number;
}

/**
 * Per-block limits of the plans (docs/design.md §6), from the table the bridge uses too
 * (`bridge/plans.json`, next to the gateway's code as the bridge script is; its `about` says
 * where the figures come from).
 */
export const PLAN_LIMITS: Readonly<Record<string, PlanLimits>> = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'bridge', 'plans.json'), 'utf8')) as {
    plans: Record<string, PlanLimits>;
  }
).plans;
