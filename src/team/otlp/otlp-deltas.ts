import type { Point } from './otlp-decode';

/** Where a cumulative series stood: the value at its last point, from its start time. */
export interface SeriesState {
  readonly seriesKey: string;
  readonly startNs: string;
  readonly timeNs: string;
  readonly value: number;
  readonly updatedAt: number;
}

/** One counter's sum in one minute, to be added to what the minute holds. */
export interface MinuteDelta {
  readonly minute: number;
  readonly metric: string;
  readonly label: string;
  value: number;
}

/**
 * Turns points not counted before into per-minute deltas. A delta point counts as it is; a
 * cumulative one counts its rise since the series' last point of the same start (a new start
 * time is a restarted counter: its value is all new), and one older than what the series holds
 * counts nothing. Answers the minutes (in minute, metric, label order) and each touched series'
 * new state; `states` is not changed.
 */
export function minuteDeltas(
  fresh: readonly Point[],
  states: ReadonlyMap<string, SeriesState>,
  now: number,
): { minutes: MinuteDelta[]; states: SeriesState[] } {
  const next = new Map(states);
  const touched = new Set<string>();
  const minutes = new Map<string, MinuteDelta>();
  for (const point of [...fresh].sort((a, b) => compareNs(a.timeNs, b.timeNs))) {
    let delta = point.value;
    if (point.cumulative) {
      const state = next.get(point.series);
      if (state && state.startNs === point.startNs) {
        if (compareNs(point.timeNs, state.timeNs) <= 0) continue; // older than what we have
        delta = point.value - state.value;
      }
      next.set(point.series, {
        seriesKey: point.series,
        startNs: point.startNs,
        timeNs: point.timeNs,
        value: point.value,
        updatedAt: now,
      });
      touched.add(point.series);
    }
    const id = `${point.minute}\u0000${point.metric}\u0000${point.label}`;
    const sum = minutes.get(id);
    if (sum) sum.value += delta;
    else
      minutes.set(id, {
        minute: point.minute,
        metric: point.metric,
        label: point.label,
        value: delta,
      });
  }
  return {
    minutes: [...minutes.values()].sort(
      (a, b) =>
        a.minute - b.minute || a.metric.localeCompare(b.metric) || a.label.localeCompare(b.label),
    ),
    states: [...touched].sort().map((key) => next.get(key) as SeriesState),
  };
}

/** Orders two decimal nanosecond strings (too large for a double) as numbers. */
export function compareNs(a: string, b: string): number {
  return a.length === b.length ? (a < b ? -1 : a > b ? 1 : 0) : a.length - b.length;
}
