import type { LimitWindow } from './limit-observation.entity';

const HOUR_MS = 3_600_000;

/** How long each official window is: it ends at its `resets_at`. */
export const WINDOW_MS: Record<LimitWindow, number> = {
  five_hour: 5 * HOUR_MS,
  seven_day: 7 * 24 * HOUR_MS,
};

export interface Calibration {
  /** Our tokens (input, output, cache creation and reads) per official percent. */
  readonly tokens_per_percent: number;
  /** Our cost (our price table) per official percent. */
  readonly usd_per_percent: number;
  /** How many observations it rests on (each at least 1 %). */
  readonly observations: number;
}

/** One official figure, and what our logs held in its window up to that moment. */
export interface CalibrationPoint {
  readonly percent: number;
  readonly tokens: number;
  readonly usd: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Tokens and USD per official percent: the median over observations of at least 1 % (below, the
 * rounding of the official figure dominates) with some usage of ours in the window. Null without.
 */
export function calibrate(points: readonly CalibrationPoint[]): Calibration | null {
  const usable = points.filter((p) => p.percent >= 1 && p.usd > 0);
  if (usable.length === 0) return null;
  return {
    tokens_per_percent: Math.round(median(usable.map((p) => p.tokens / p.percent))),
    usd_per_percent: Number(median(usable.map((p) => p.usd / p.percent)).toFixed(6)),
    observations: usable.length,
  };
}

export interface Projection {
  /** `burn_rate`: our current cost per hour through the calibration; `official_trend`: how the
   * official figure itself rose in this window. */
  readonly basis: 'burn_rate' | 'official_trend';
  /** The official figure carried forward to now. */
  readonly percent_now: number;
  readonly percent_per_hour: number;
  /** When 100 % is reached at this rate; null when the window resets first (or no rise). */
  readonly reaches_100_at: string | null;
  readonly resets_first: boolean;
  /** Where the window will stand when it resets, at this rate (at most 100). */
  readonly percent_at_reset: number;
}

export interface ProjectionInput {
  readonly now: number;
  /** The latest official figure: percent, when last seen, when its window resets. */
  readonly percent: number;
  readonly seenAt: number;
  readonly resetsAt: number;
  /** Our cost since `seenAt` (the official figure does not know it yet). */
  readonly costSinceSeen: number;
  readonly calibration: Calibration | null;
  /** Our current burn rate (USD per hour), from the active block. */
  readonly costPerHour: number;
  /** An earlier official figure of the same window (first seen then), for the trend. */
  readonly earlier?: { readonly percent: number; readonly at: number };
  /** When the latest figure was first seen (the trend's other end). */
  readonly observedAt: number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** At the current rate, when the window reaches 100 % — or that it resets first. */
export function project(input: ProjectionInput): Projection | null {
  let basis: Projection['basis'];
  let percentNow: number;
  let perHour: number;
  const { calibration } = input;
  if (calibration && calibration.usd_per_percent > 0 && input.costPerHour > 0) {
    basis = 'burn_rate';
    percentNow = input.percent + input.costSinceSeen / calibration.usd_per_percent;
    perHour = input.costPerHour / calibration.usd_per_percent;
  } else if (
    input.earlier &&
    input.observedAt > input.earlier.at &&
    input.percent > input.earlier.percent
  ) {
    basis = 'official_trend';
    perHour =
      (input.percent - input.earlier.percent) / ((input.observedAt - input.earlier.at) / HOUR_MS);
    percentNow = input.percent + perHour * (Math.max(0, input.now - input.seenAt) / HOUR_MS);
  } else return null;
  percentNow = Math.min(100, percentNow);
  const hoursLeft = Math.max(0, input.resetsAt - input.now) / HOUR_MS;
  const atReset = Math.min(100, percentNow + perHour * hoursLeft);
  const hoursTo100 = perHour > 0 ? (100 - percentNow) / perHour : Number.POSITIVE_INFINITY;
  const resetsFirst = hoursTo100 >= hoursLeft;
  return {
    basis,
    percent_now: round1(percentNow),
    percent_per_hour: Number(perHour.toFixed(3)),
    reaches_100_at: resetsFirst
      ? null
      : new Date(input.now + Math.round(hoursTo100 * HOUR_MS)).toISOString(),
    resets_first: resetsFirst,
    percent_at_reset: round1(atReset),
  };
}
