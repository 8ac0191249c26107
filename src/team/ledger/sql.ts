import type { EntityManager } from 'typeorm';

/** `(?, ?, …)` (SQLite) or `($n, …)` (PostgreSQL) for one row, its values appended to `params`. */
export function placeholders(
  params: unknown[],
  values: readonly unknown[],
  postgres: boolean,
): string {
  const marks = values.map((value) => {
    params.push(value);
    return postgres ? `$${params.length}` : '?';
  });
  return `(${marks.join(', ')})`;
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
  if (m.connection.options.type !== 'postgres' || keys.length === 0) return;
  await m.query(
    `SELECT pg_advisory_xact_lock(${space}, h) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS locks`,
    [keys],
  );
}
