import { Column } from 'typeorm';
import { bigintNumber } from '../../database/epoch-ms.transformer';

/**
 * The four token counts and the cost of the ledger's rows and roll-ups, written once (embedded
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
}

/** A roll-up's sums: the counts, and how many requests they add up. */
export class UsageSums extends UsageCounts {
  @Column({ type: 'integer' })
  entries!: number;
}
