import { Column } from 'typeorm';
import { bigintNumber } from '../../database/epoch-ms.transformer';

/**
 * The four token counts (and the two other agents need) and the cost of the ledger's rows and roll-ups, written once (embedded
 * with `prefix: false`: the columns keep their names).
 */
export class UsageCounts {
  @Column({ name: 'input_tokens', type: 'bigint', transformer: bigintNumber })
  inputTokens!: number;

  @Column({ name: 'output_tokens', type: 'bigint', transformer: bigintNumber })
  outputTokens!: number;

  @Column({ name: 'cache_creation_tokens', type: 'bigint', transformer: bigintNumber })
  cacheCreationTokens!: number;

  @Column({ name: 'cache_read_tokens', type: 'bigint', transformer: bigintNumber })
  cacheReadTokens!: number;

  @Column({ name: 'cost_usd', type: 'double precision' })
  costUsd!: number;

  /** Reasoning the agent reported (Codex: part of the output; others: of `extraTokens`). */
  @Column({ name: 'reasoning_tokens', type: 'bigint', default: 0, transformer: bigintNumber })
  reasoningTokens!: number;

  /** Tokens in the total that no column shows, priced as output (Gemini's thoughts, OpenCode's
   * reasoning, a total above the parts): total = the four counts + these. */
  @Column({ name: 'extra_tokens', type: 'bigint', default: 0, transformer: bigintNumber })
  extraTokens!: number;
}

/** A roll-up's sums: the counts, and how many requests they add up. */
export class UsageSums extends UsageCounts {
  @Column({ type: 'integer' })
  entries!: number;
}
