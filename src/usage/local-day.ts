import { LRUCache } from 'lru-cache';

const DAY_FORMATS = new LRUCache<string, Intl.DateTimeFormat>({ max: 64 });

/** The day (YYYY-MM-DD) a moment counts for in `timeZone`, where days start at `resetHour`. */
export function localDay(epochMs: number, timeZone: string, resetHour: number): string {
  let format = DAY_FORMATS.get(timeZone);
  if (!format) {
    // Building a formatter costs far more than using one; zones in use are few.
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      hourCycle: 'h23',
    });
    DAY_FORMATS.set(timeZone, format);
  }
  const parts = format.formatToParts(epochMs);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const day = new Date(Date.UTC(part('year'), part('month') - 1, part('day')));
  // Before the reset hour (wall clock), the moment still counts for the day before.
  if (part('hour') < resetHour) day.setUTCDate(day.getUTCDate() - 1);
  return day.toISOString().slice(0, 10);
}
