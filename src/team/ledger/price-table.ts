import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Prices = Record<string, unknown>;

const TOKEN_TYPES = [
  ['input_cost_per_token', 'input_cost_per_token_above_200k_tokens'],
  ['output_cost_per_token', 'output_cost_per_token_above_200k_tokens'],
  ['cache_creation_input_token_cost', 'cache_creation_input_token_cost_above_200k_tokens'],
  ['cache_read_input_token_cost', 'cache_read_input_token_cost_above_200k_tokens'],
] as const;

/** The price table the bridge ships (bridge/pricing.json: LiteLLM's, where it says so). */
export const PRICING_FILE = join(__dirname, '..', '..', '..', 'bridge', 'pricing.json');

/** 1-hour cache writes cost this many times the input rate. */
const CACHE_WRITE_1H_MULTIPLIER = 2;

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/**
 * The bridge's cost rule (bridge/usagebridge/pricing.py), for entries the gateway prices itself
 * (OTLP requests, pushed lines): a model is looked up exactly, then case-insensitively by
 * substring either way, as ccusage does; each token type above the threshold is priced at its
 * tier rate; fast mode multiplies by the model's `provider_specific_entry.fast`.
 */
export class PriceTable {
  private readonly found = new Map<string, Prices | undefined>();

  constructor(
    private readonly models: Record<string, Prices>,
    private readonly threshold = 200_000,
  ) {}

  static load(path = PRICING_FILE): PriceTable {
    const data = JSON.parse(readFileSync(path, 'utf8')) as {
      models?: Record<string, Prices>;
      threshold_tokens?: number;
    };
    if (!data.models || typeof data.models !== 'object') throw new Error(`${path}: no models`);
    return new PriceTable(data.models, data.threshold_tokens ?? 200_000);
  }

  lookup(model: string): Prices | undefined {
    if (this.found.has(model)) return this.found.get(model);
    let prices: Prices | undefined = this.models[model];
    if (prices === undefined) {
      const lower = model.toLowerCase();
      for (const [key, value] of Object.entries(this.models)) {
        const keyLower = key.toLowerCase();
        if (keyLower.includes(lower) || lower.includes(keyLower)) {
          prices = value;
          break;
        }
      }
    }
    if (this.found.size > 10_000) this.found.clear();
    this.found.set(model, prices);
    return prices;
  }

  fastMultiplier(model: string): number {
    const extra = this.lookup(model)?.provider_specific_entry;
    const factor = typeof extra === 'object' && extra !== null ? (extra as Prices).fast : undefined;
    return num(factor) ?? 1;
  }

  /**
   * USD of one request; `fast` applies the model's fast-mode multiplier. `cacheWrite1h` of the
   * cache writes (counts[2]) were 1-hour writes: those cost twice the input rate (ccusage 20).
   */
  cost(
    model: string,
    counts: readonly [number, number, number, number],
    fast = false,
    cacheWrite1h = 0,
  ): number {
    const prices = this.lookup(model);
    if (!prices) return 0;
    const hour = Math.min(cacheWrite1h, counts[2]);
    let total = 0;
    [counts[0], counts[1], counts[2] - hour, counts[3]].forEach((count, i) => {
      const [baseKey, tierKey] = TOKEN_TYPES[i];
      total += this.tiered(count, num(prices[baseKey]), num(prices[tierKey]));
    });
    const input = num(prices[TOKEN_TYPES[0][0]]);
    const inputTier = num(prices[TOKEN_TYPES[0][1]]);
    total += this.tiered(
      hour,
      input === undefined ? undefined : input * CACHE_WRITE_1H_MULTIPLIER,
      inputTier === undefined ? undefined : inputTier * CACHE_WRITE_1H_MULTIPLIER,
    );
    return fast ? total * this.fastMultiplier(model) : total;
  }

  /** Each token type above the threshold is priced at its tier rate. */
  private tiered(count: number, base: number | undefined, tier: number | undefined): number {
    if (!count) return 0;
    if (tier !== undefined && count > this.threshold)
      return (count - this.threshold) * tier + (base !== undefined ? this.threshold * base : 0);
    return base !== undefined ? count * base : 0;
  }
}
