import { Client, type ClientConfig } from 'pg';

/** node-postgres's message when `query_timeout` passes without an answer. */
const READ_TIMEOUT = 'Query read timeout';

/**
 * A PostgreSQL client that drops its connection when a query misses its read deadline.
 *
 * node-postgres answers a late query with an error but keeps the connection, with the late
 * query still its active one; TypeORM then gives the client back to the pool without an error,
 * so on a connection whose bytes were lost (a silent partition) every later query would wait
 * forever behind it. Destroying the socket ends the client: the pool discards it on release and
 * the next query gets a fresh connection.
 */
export class DeadlineClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    // An ended connection emits 'error' on the client; while it is checked out of the pool
    // nobody else listens, and an unheard 'error' would end the process. The query that was
    // waiting gets the error itself.
    this.on('error', () => undefined);
  }

  // The overloads of Client#query are many; every one passes through, with a look at errors.
  override query(...args: unknown[]): never {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (error: Error | null, ...rest: unknown[]) => {
        this.onQueryError(error);
        (last as (...a: unknown[]) => void)(error, ...rest);
      };
    }
    const result = (super.query as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise)
      result.then(undefined, (error: Error) => this.onQueryError(error));
    return result as never;
  }

  private onQueryError(error: Error | null): void {
    if (error?.message !== READ_TIMEOUT) return;
    const connection = (this as unknown as { connection?: { stream?: { destroy(): void } } })
      .connection;
    connection?.stream?.destroy();
  }
}
