import { readFileSync } from 'node:fs';
import { PRICING_FILE } from './price-table';

type Rates = Record<string, unknown>;
const KINDS = [
  'input_cost_per_token',
  'output_cost_per_token',
  'cache_creation_input_token_cost',
  'cache_read_input_token_cost',
] as const;

const num = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : 0;

/**
 * Other agents' model prices (bridge/pricing.json `agent_prices`, per agent as ccusage 20.0.24
 * charges them; docs/agents.md) and the bridge's rule for them (usagebridge/agents/prices.py), for
 * the events the gateway prices itself (OTLP). A `prompt` tier prices every token of an event
 * whose prompt (input, cached input, cache writes) passes the threshold at the higher rates; a
 * `part` tier only each kind's tokens above it. A model not in the table costs 0.
 */
export class AgentPrices {
  constructor(private readonly sections: Record<string, Record<string, Rates>>) {}

  static load(path = PRICING_FILE): AgentPrices {
    const data = JSON.parse(readFileSync(path, 'utf8')) as {
      agent_prices?: Record<string, unknown>;
    };
    const sections: Record<string, Record<string, Rates>> = {};
    for (const [agent, models] of Object.entries(data.agent_prices ?? {}))
      if (typeof models === 'object' && models !== null)
        sections[agent] = models as Record<string, Rates>;
    return new AgentPrices(sections);
  }

  /** USD of one event (`output` includes what is priced as output), and whether it is unpriced. */
  cost(
    agent: string,
    model: string,
    counts: readonly [input: number, output: number, cacheCreate: number, cacheRead: number],
  ): { usd: number; unpriced: boolean } {
    const prices = this.sections[agent]?.[model];
    if (!prices) return { usd: 0, unpriced: counts.some((c) => c > 0) };
    const base = KINDS.map((kind) => num(prices[kind]));
    const above = prices.above as Rates | undefined;
    if (!above || typeof above !== 'object')
      return { usd: counts.reduce((s, c, i) => s + c * base[i], 0), unpriced: false };
    const threshold = num(above.threshold_tokens);
    const higher = KINDS.map((kind, i) =>
      typeof above[kind] === 'number' ? num(above[kind]) : base[i],
    );
    if (above.mode === 'prompt') {
      const rates = counts[0] + counts[2] + counts[3] > threshold ? higher : base;
      return { usd: counts.reduce((s, c, i) => s + c * rates[i], 0), unpriced: false };
    }
    const usd = counts.reduce(
      (s, c, i) =>
        s + (c <= threshold ? c * base[i] : threshold * base[i] + (c - threshold) * higher[i]),
      0,
    );
    return { usd, unpriced: false };
  }
}
