import { offsetPieces } from './zone-offsets';

const QUARTER_MS = 15 * 60 * 1000;
const QUARTERS_PER_DAY = 96;

/** UTC days [from, to] whose rows all go to local day `day + shift`. */
export interface DayRun {
  readonly from: number;
  readonly to: number;
  readonly shift: number;
}

/** Quarter hours [from, to). */
export interface QuarterRange {
  readonly from: number;
  readonly to: number;
}

/**
 * How a zone's local days (starting at `resetHour`) are summed from a day roll-up and a
 * quarter-hour roll-up of the same rows, for UTC days `firstDay` … `lastDay`:
 * - `runs`: whole UTC days, each added to the local day that holds most of it;
 * - `moved`: the quarter hours of those days that lie in the neighbouring local day (the last
 *   hour of a UTC day in Berlin's winter): taken from the day they were added to, added to theirs;
 * - `split`: the UTC days in which the zone's offset changes, read from their quarter hours only;
 * - `localDay(quarter)`: the SQL for a quarter hour's local day number (days since 1970-01-01).
 * A local day then costs a row per member, model and day plus the rows of its moved quarters,
 * where summing quarters costs a row per active quarter hour.
 */
export function dayPlan(firstDay: number, lastDay: number, timezone: string, resetHour: number) {
  const from = firstDay * QUARTERS_PER_DAY * QUARTER_MS;
  const to = (lastDay + 1) * QUARTERS_PER_DAY * QUARTER_MS;
  const pieces = offsetPieces(from, to, timezone);
  // Local day number = (quarter + shift in quarters) / 96.
  const quarterShift = (offsetMin: number) => Math.round(offsetMin / 15) - resetHour * 4;
  const runs: DayRun[] = [];
  const moved: QuarterRange[] = [];
  const split: QuarterRange[] = [];
  let piece = 0;
  for (let day = firstDay; day <= lastDay; day++) {
    const start = day * QUARTERS_PER_DAY;
    const end = start + QUARTERS_PER_DAY;
    while (piece + 1 < pieces.length && pieces[piece + 1].from <= start * QUARTER_MS) piece++;
    if (piece + 1 < pieces.length && pieces[piece + 1].from < end * QUARTER_MS) {
      split.push({ from: start, to: end });
      continue;
    }
    const q = quarterShift(pieces[piece].offset);
    const r = ((q % QUARTERS_PER_DAY) + QUARTERS_PER_DAY) % QUARTERS_PER_DAY;
    const base = (q - r) / QUARTERS_PER_DAY;
    // The day's quarters t < 96 − r lie in local day day + base, the others in the next one.
    const shift = r <= QUARTERS_PER_DAY / 2 ? base : base + 1;
    if (r > 0 && r <= QUARTERS_PER_DAY / 2) moved.push({ from: end - r, to: end });
    else if (r > QUARTERS_PER_DAY / 2) moved.push({ from: start, to: end - r });
    const last = runs[runs.length - 1];
    if (last && last.shift === shift && last.to === day - 1)
      runs[runs.length - 1] = { ...last, to: day };
    else runs.push({ from: day, to: day, shift });
  }
  let localDay: string;
  if (pieces.length === 1)
    localDay = `(quarter + ${quarterShift(pieces[0].offset)}) / ${QUARTERS_PER_DAY}`;
  else {
    const cases = pieces
      .slice(1)
      .map((p, i) => `WHEN quarter < ${p.from / QUARTER_MS} THEN ${quarterShift(pieces[i].offset)}`)
      .join(' ');
    localDay = `(quarter + CASE ${cases} ELSE ${quarterShift(pieces[pieces.length - 1].offset)} END) / ${QUARTERS_PER_DAY}`;
  }
  return { runs, moved, split, localDay };
}

/** Up to this many values, ranges are written as one IN list (see `inRanges`). */
export const MAX_IN_LIST = 4096;

/**
 * `column` in one of the ranges (inclusive days, or half-open quarter ranges), as SQL. Short
 * ranges that add up to at most MAX_IN_LIST values are one `IN` list: an index whose first column
 * is `column` (the roll-ups' keys) then answers each value with one lookup, where a planner given
 * many OR'ed ranges (a quarter hour or an hour of every day) scans an index per range.
 */
export function inRanges(
  column: string,
  ranges: readonly { from: number; to: number }[],
  inclusive: boolean,
): string {
  if (ranges.length === 0) return '1 = 0';
  const end = (r: { from: number; to: number }) => (inclusive ? r.to + 1 : r.to);
  const values = ranges.reduce((n, r) => n + end(r) - r.from, 0);
  if (ranges.length > 1 && values <= MAX_IN_LIST) {
    const list: number[] = [];
    for (const r of ranges) for (let v = r.from; v < end(r); v++) list.push(v);
    return `${column} IN (${list.join(', ')})`;
  }
  const terms = ranges.map((r) =>
    inclusive
      ? r.from === r.to
        ? `${column} = ${r.from}`
        : `${column} BETWEEN ${r.from} AND ${r.to}`
      : r.to - r.from === 1
        ? `${column} = ${r.from}`
        : `(${column} >= ${r.from} AND ${column} < ${r.to})`,
  );
  return `(${terms.join(' OR ')})`;
}

/** The SQL for `runs`' shift of a UTC day number `column` (each run's days to their local day). */
export function runShift(column: string, runs: readonly DayRun[]): string {
  if (runs.length === 1) return String(runs[0].shift);
  const cases = runs
    .slice(0, -1)
    .map((run) => `WHEN ${column} <= ${run.to} THEN ${run.shift}`)
    .join(' ');
  return `CASE ${cases} ELSE ${runs[runs.length - 1].shift} END`;
}
