import { describe, expect, it } from 'vitest';
import type { Point } from './otlp-decode';
import { compareNs, minuteDeltas, type SeriesState } from './otlp-deltas';

const point = (over: Partial<Point>): Point => ({
  key: 'k',
  series: 's',
  metric: 'token.usage',
  label: 'input',
  minute: 100,
  value: 0,
  cumulative: true,
  startNs: '1000',
  timeNs: '2000',
  ...over,
});

describe('minuteDeltas', () => {
  it("counts a cumulative series' rise from its stored state, point by point in time order", () => {
    const states = new Map<string, SeriesState>([
      ['s', { seriesKey: 's', startNs: '1000', timeNs: '2000', value: 50, updatedAt: 1 }],
    ]);
    const out = minuteDeltas(
      [
        point({ key: 'b', timeNs: '4000', value: 90, minute: 101 }),
        point({ key: 'a', timeNs: '3000', value: 70, minute: 100 }),
      ],
      states,
      9,
    );
    expect(out.minutes).toEqual([
      { minute: 100, metric: 'token.usage', label: 'input', value: 20 },
      { minute: 101, metric: 'token.usage', label: 'input', value: 20 },
    ]);
    expect(out.states).toEqual([
      { seriesKey: 's', startNs: '1000', timeNs: '4000', value: 90, updatedAt: 9 },
    ]);
    expect(states.get('s')?.value).toBe(50); // the input is not changed
  });

  it('takes a new start time as a restarted counter, and an older point as nothing', () => {
    const states = new Map<string, SeriesState>([
      ['s', { seriesKey: 's', startNs: '1000', timeNs: '5000', value: 50, updatedAt: 1 }],
    ]);
    const older = minuteDeltas([point({ timeNs: '4000', value: 60 })], states, 9);
    expect(older).toEqual({ minutes: [], states: [] });
    const restarted = minuteDeltas(
      [point({ startNs: '6000', timeNs: '7000', value: 4 })],
      states,
      9,
    );
    expect(restarted.minutes.map((m) => m.value)).toEqual([4]);
    expect(restarted.states[0]).toMatchObject({ startNs: '6000', value: 4 });
  });

  it('adds delta points as they are, summed per minute, metric and label', () => {
    const out = minuteDeltas(
      [
        point({ cumulative: false, value: 2, label: 'output' }),
        point({ cumulative: false, value: 3, label: 'output' }),
        point({ cumulative: false, value: 1, label: 'input' }),
      ],
      new Map(),
      9,
    );
    expect(out.minutes.map((m) => [m.label, m.value])).toEqual([
      ['input', 1],
      ['output', 5],
    ]);
    expect(out.states).toEqual([]);
  });

  it('orders nanosecond strings as numbers', () => {
    expect(compareNs('999', '1000')).toBeLessThan(0);
    expect(compareNs('1000', '1000')).toBe(0);
    expect(compareNs('1763000000000000001', '1763000000000000000')).toBeGreaterThan(0);
  });
});
