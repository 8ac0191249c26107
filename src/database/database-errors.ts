/**
 * Errors that say "the database cannot be reached or did not answer in time", as opposed to
 * "this query is wrong": the first are answered 503 + Retry-After, the second are bugs (500).
 */
const UNAVAILABLE_MESSAGES = [
  'Query read timeout',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection terminated unexpectedly',
  'terminating connection',
  'the database system is',
];

/** PostgreSQL SQLSTATE classes and codes of an unreachable, overloaded or cancelling server. */
const UNAVAILABLE_PG_CODES = new Set([
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '25P03', // idle_in_transaction_session_timeout
]);

const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const UNAVAILABLE_SQLITE_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR']);

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error as Record<string, unknown> | null, depth = 0; e && depth < 4; depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code !== undefined) {
      if (UNAVAILABLE_PG_CODES.has(code) || code.startsWith('08')) return true;
      if (UNAVAILABLE_NODE_CODES.has(code)) return true;
      if ([...UNAVAILABLE_SQLITE_CODES].some((c) => code.startsWith(c))) return true;
    }
    const message = typeof e.message === 'string' ? e.message : '';
    if (UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return true;
    e = (e.driverError ?? e.cause ?? null) as Record<string, unknown> | null;
  }
  return false;
}

/** Thrown without touching the database while it is known to be unavailable. */
export class DatabaseUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`the database is unavailable (${reason})`);
    this.name = 'DatabaseUnavailableError';
  }
}

/** A short, credential-free description of an unavailable error for the one log line. */
export function describeDatabaseError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown; driverError?: { code?: unknown } };
  const code = e.driverError?.code ?? e.code;
  const message = typeof e.message === 'string' ? e.message.split('\n')[0].slice(0, 120) : '';
  return typeof code === 'string' ? `${code}: ${message}` : message || 'unknown error';
}

/** A unique or primary key violation (another writer stored the same key first). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = e.driverError?.code ?? e.code;
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
