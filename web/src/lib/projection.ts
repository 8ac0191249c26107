/** The block chart's data: tokens so far and the line projected at the current rate. */

export interface BlockLike {
  readonly start_time: string;
  readonly end_time: string;
  readonly total_tokens: number;
  readonly burn_rate?: { readonly tokens_per_minute: number } | null;
}

export interface ProjectionSeries {
  /** Seconds (uPlot's x unit). */
  readonly x: number[];
  /** Tokens used (null where the future is). */
  readonly used: (number | null)[];
  /** Projected tokens from now to the block's end (null before now). */
  readonly projected: (number | null)[];
  /** The plan's limit, flat. */
  readonly limit: number[];
}

/**
 * Points every `stepMinutes` from the block start to its end: the used tokens rise linearly to
 * today's count at `now` (the payload has no per-minute history), then the projection continues
 * at the burn rate. `reachesLimitAt` is when the projection crosses the limit, if in the block.
 */
export function blockProjection(
  block: BlockLike,
  limit: number,
  now: number,
  stepMinutes = 5,
): ProjectionSeries & { reachesLimitAt: number | null } {
  const start = Date.parse(block.start_time);
  const end = Date.parse(block.end_time);
  const at = Math.min(Math.max(now, start), end);
  const rate = block.burn_rate?.tokens_per_minute ?? 0;
  const x: number[] = [];
  const used: (number | null)[] = [];
  const projected: (number | null)[] = [];
  const step = stepMinutes * 60_000;
  const times: number[] = [];
  for (let t = start; t < end; t += step) times.push(t);
  times.push(end);
  if (!times.includes(at)) times.push(at);
  times.sort((a, b) => a - b);
  for (const t of times) {
    x.push(t / 1000);
    if (t <= at) used.push(at === start ? 0 : (block.total_tokens * (t - start)) / (at - start));
    else used.push(null);
    projected.push(t >= at ? block.total_tokens + (rate * (t - at)) / 60_000 : null);
  }
  let reachesLimitAt: number | null = null;
  if (rate > 0 && limit > 0) {
    const when =
      block.total_tokens >= limit ? at : at + ((limit - block.total_tokens) / rate) * 60_000;
    reachesLimitAt = when <= end ? when : null;
  }
  return { x, used, projected, limit: x.map(() => limit), reachesLimitAt };
}
