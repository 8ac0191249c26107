import type { DataSource, EntityManager } from 'typeorm';

/**
 * The one place the stores learn which database they talk to and write what differs between
 * SQLite and PostgreSQL: placeholders (`?` or `$n`), lists (`IN (?, …)` or `= ANY($n)`), the
 * two-argument MIN/MAX of a row (`MIN`/`MAX` or `LEAST`/`GREATEST`) and advisory locks.
 */
export type Dialect = 'postgres' | 'sqlite';

export function dialectOf(source: DataSource | EntityManager): Dialect {
  const options = 'connection' in source ? source.connection.options : source.options;
  return options.type === 'postgres' ? 'postgres' : 'sqlite';
}

/** A statement's parameters: each `value()` appends one and answers its placeholder. */
export class SqlParams {
  readonly values: unknown[] = [];

  constructor(readonly dialect: Dialect) {}

  static for(source: DataSource | EntityManager): SqlParams {
    return new SqlParams(dialectOf(source));
  }

  /** One value's placeholder. */
  value(value: unknown): string {
    this.values.push(value);
    return this.dialect === 'postgres' ? `$${this.values.length}` : '?';
  }

  /** `(?, ?, …)` for one row of an INSERT. */
  row(values: readonly unknown[]): string {
    return `(${values.map((v) => this.value(v)).join(', ')})`;
  }

  /** `IN (?, …)` on SQLite, `= ANY($n)` (one array parameter) on PostgreSQL. */
  in(values: readonly unknown[]): string {
    if (this.dialect === 'postgres') return `= ANY(${this.value(values)})`;
    return `IN (${values.map((v) => this.value(v)).join(', ')})`;
  }

  /** The larger (`GREATEST`) or smaller (`LEAST`) of two expressions in this dialect. */
  greatest(a: string, b: string): string {
    return `${this.dialect === 'postgres' ? 'GREATEST' : 'MAX'}(${a}, ${b})`;
  }

  least(a: string, b: string): string {
    return `${this.dialect === 'postgres' ? 'LEAST' : 'MIN'}(${a}, ${b})`;
  }
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * On PostgreSQL, transaction-scoped advisory locks on `keys` (hashed, in one order, so two
 * transactions never wait on each other crosswise); `space` keeps each caller's locks apart.
 * SQLite needs none: its writes take turns (DatabaseWrites).
 */
export async function lockInOrder(
  m: EntityManager,
  space: number,
  keys: readonly string[],
): Promise<void> {
  if (dialectOf(m) !== 'postgres' || keys.length === 0) return;
  await m.query(
    `SELECT pg_advisory_xact_lock(${space}, h) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS locks`,
    [keys],
  );
}
