/**
 * The one deadline helper for promises that cannot be cancelled (a query on a pooled connection,
 * a Redis command, a read whose answer is still wanted later). The work goes on after the
 * deadline; its late result or error is dropped quietly. Calls to the bridge use cockatiel's
 * timeout instead: it is composed with their retries and breakers and aborts the request.
 */
export class DeadlineExceeded extends Error {
  constructor(
    readonly ms: number,
    what: string,
  ) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/** `work`'s result, or undefined when it has not settled within `ms` (its error is thrown). */
export async function settledWithin<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `work`'s result, or a DeadlineExceeded when it has not settled within `ms`. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what = 'the call'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(ms, what)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
