import { describe, expect, it } from 'vitest';
import { localDay } from './local-day';

/** A wall-clock time in a zone, as epoch ms (test helper: searches the offset). */
function at(zone: string, isoLocal: string): number {
  const guess = Date.parse(`${isoLocal}Z`);
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  for (let offset = -14 * 60; offset <= 14 * 60; offset += 15) {
    const t = guess - offset * 60_000;
    const p = Object.fromEntries(fmt.formatToParts(t).map((x) => [x.type, x.value]));
    if (`${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}` === isoLocal.slice(0, 16)) return t;
  }
  throw new Error(`no such time ${isoLocal} in ${zone}`);
}

describe("today's date for the status line and usage_daily, on an injected clock", () => {
  // The plan's zone and reset hour; minutes before the day (or the reset hour) turns.
  for (const zone of ['Europe/Berlin', 'America/St_Johns', 'Asia/Kolkata', 'UTC']) {
    it(`counts 00:59, 04:59 and 23:59 in ${zone} for the right day (reset_hour 0 and 5)`, () => {
      expect(localDay(at(zone, '2026-12-02T00:59'), zone, 0)).toBe('2026-12-02');
      expect(localDay(at(zone, '2026-12-02T04:59'), zone, 0)).toBe('2026-12-02');
      expect(localDay(at(zone, '2026-12-02T23:59'), zone, 0)).toBe('2026-12-02');
      // Days starting at 05:00: before it, the moment still counts for the day before.
      expect(localDay(at(zone, '2026-12-02T00:59'), zone, 5)).toBe('2026-12-01');
      expect(localDay(at(zone, '2026-12-02T04:59'), zone, 5)).toBe('2026-12-01');
      expect(localDay(at(zone, '2026-12-02T05:00'), zone, 5)).toBe('2026-12-02');
      expect(localDay(at(zone, '2026-12-02T23:59'), zone, 5)).toBe('2026-12-02');
    });
  }

  it('turns the year in the plan’s zone, not in UTC', () => {
    expect(localDay(at('America/St_Johns', '2026-12-31T23:59'), 'America/St_Johns', 0)).toBe(
      '2026-12-31',
    );
    expect(localDay(at('Asia/Kolkata', '2027-01-01T00:59'), 'Asia/Kolkata', 0)).toBe('2027-01-01');
  });
});
