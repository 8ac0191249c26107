import type { ValueTransformer } from 'typeorm';

/**
 * Times are stored as epoch milliseconds in BIGINT columns: one portable representation for
 * SQLite and PostgreSQL (docs/design.md: envelope timestamps are epoch ms). node-postgres returns
 * BIGINT as a string to avoid precision loss; epoch ms stay far below 2^53, so Number is exact.
 */
export const epochMs: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

/** A BIGINT count read as a number (token sums stay far below 2^53 as well). */
export const bigintNumber: ValueTransformer = epochMs;
