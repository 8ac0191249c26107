import type { LimitObservation } from '../../limits/limit-observation.entity';
import type { MemberBlockDto } from '../dto/team-usage.dto';
import { offsetMinutes } from './zone-offsets';

const QUARTER_MS = 15 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const BLOCK_MS = 5 * HOUR_MS;

/** The UTC moment a local day starts in a zone (two passes: the offset at that moment). */
export function localMidnight(date: string, timeZone: string): number {
  const utc = Date.parse(`${date}T00:00:00Z`);
  const first = utc - offsetMinutes(utc, timeZone) * 60_000;
  return utc - offsetMinutes(first, timeZone) * 60_000;
}

/** A member's sums of one quarter hour. */
export interface QuarterRow {
  member: string;
  quarter: string | number;
  tokens: string | number;
  cost: string | number;
}

/**
 * ccusage's block rule on quarter-hour sums: a block starts at the hour of its first request and
 * lasts 5 hours; a request 5 hours after the block's start, or after 5 quiet hours, starts another.
 */
export function currentBlock(
  quarters: readonly QuarterRow[],
  lastActivity: number | undefined,
  now: number,
  official: LimitObservation | undefined,
): MemberBlockDto | null {
  let start: number | undefined;
  let previous = 0;
  let tokens = 0;
  let cost = 0;
  for (const row of quarters) {
    const at = Number(row.quarter) * QUARTER_MS;
    if (start === undefined || at >= start + BLOCK_MS || at - previous >= BLOCK_MS) {
      start = Math.floor(at / HOUR_MS) * HOUR_MS;
      tokens = 0;
      cost = 0;
    }
    previous = at;
    tokens += Number(row.tokens);
    cost += Number(row.cost);
  }
  if (start === undefined || now >= start + BLOCK_MS || now - previous >= BLOCK_MS) return null;
  const minutes = Math.max(1, ((lastActivity ?? now) - start) / 60_000);
  return {
    start: new Date(start).toISOString(),
    end: new Date(start + BLOCK_MS).toISOString(),
    total_tokens: tokens,
    cost_usd: cost,
    percent: official?.usedPercentage ?? null,
    elapsed_percent: Math.min(100, ((now - start) / BLOCK_MS) * 100),
    tokens_per_minute: tokens / minutes,
    cost_per_hour: (cost / minutes) * 60,
  };
}
