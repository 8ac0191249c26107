import { LRUCache } from 'lru-cache';

const QUARTER_MS = 15 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

const FORMATS = new LRUCache<string, Intl.DateTimeFormat>({ max: 64 });
/** Per zone and UTC year: the offset at the year's start and every change in it. */
const YEARS = new LRUCache<string, ZoneYear>({ max: 512 });

interface ZoneYear {
  readonly start: number;
  readonly changes: readonly { readonly at: number; readonly offset: number }[];
}

/** A zone's UTC offset at a moment, in minutes (Europe/Berlin in summer: 120). */
export function offsetMinutes(ms: number, timeZone: string): number {
  let format = FORMATS.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    FORMATS.set(timeZone, format);
  }
  const name = format.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /GMT([+-])(\d{2}):?(\d{2})?(?::(\d{2}))?/.exec(name);
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? 0) + Number(match[4] ?? 0) / 60;
  return match[1] === '-' ? -minutes : minutes;
}

function zoneYear(timeZone: string, year: number): ZoneYear {
  const key = `${timeZone}\u0000${year}`;
  const cached = YEARS.get(key);
  if (cached) return cached;
  const from = Date.UTC(year, 0, 1);
  const to = Date.UTC(year + 1, 0, 1);
  const start = offsetMinutes(from, timeZone);
  const changes: { at: number; offset: number }[] = [];
  let previous = start;
  // A day at a time (no zone changes its offset twice in a day), then the change's exact
  // quarter hour by bisection.
  for (let day = from; day < to; day += DAY_MS) {
    const next = Math.min(day + DAY_MS, to);
    const offset = offsetMinutes(next - 1, timeZone);
    if (offset === previous) continue;
    let lo = day;
    let hi = next;
    while (hi - lo > QUARTER_MS) {
      const mid = lo + Math.floor((hi - lo) / QUARTER_MS / 2) * QUARTER_MS;
      if (offsetMinutes(mid, timeZone) === previous) lo = mid;
      else hi = mid;
    }
    changes.push({ at: hi, offset });
    previous = offset;
  }
  const result = { start, changes };
  YEARS.set(key, result);
  return result;
}

/**
 * The offsets a zone has between two moments: `[from, offset]` pieces, the first from `fromMs`.
 * Every change in use falls on a quarter hour, so quarter-hour sums split exactly by local day.
 */
export function offsetPieces(
  fromMs: number,
  toMs: number,
  timeZone: string,
): { from: number; offset: number }[] {
  const first = new Date(fromMs).getUTCFullYear();
  const last = new Date(toMs).getUTCFullYear();
  const pieces = [{ from: fromMs, offset: offsetMinutes(fromMs, timeZone) }];
  for (let year = first; year <= last; year++) {
    const { start, changes } = zoneYear(timeZone, year);
    const yearStart = Date.UTC(year, 0, 1);
    if (year > first && start !== pieces[pieces.length - 1].offset)
      pieces.push({ from: yearStart, offset: start });
    for (const change of changes)
      if (change.at > fromMs && change.at <= toMs)
        pieces.push({ from: change.at, offset: change.offset });
  }
  return pieces;
}
