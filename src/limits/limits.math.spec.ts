import { describe, expect, it } from 'vitest';
import { calibrate, project } from './limits.math';

const T = Date.parse('2026-12-02T10:00:00.000Z');
const H = 3_600_000;

describe('calibrate', () => {
  it('is the median of tokens and USD per official percent over observations of at least 1 %', () => {
    // 10 % ↔ 2,000,000 tokens / $20; 20 % ↔ 3,800,000 / $44; 40 % ↔ 8,400,000 / $80; 0.5 % ignored.
    expect(
      calibrate([
        { percent: 10, tokens: 2_000_000, usd: 20 },
        { percent: 20, tokens: 3_800_000, usd: 44 },
        { percent: 40, tokens: 8_400_000, usd: 80 },
        { percent: 0.5, tokens: 900_000, usd: 9 },
      ]),
    ).toEqual({ tokens_per_percent: 200_000, usd_per_percent: 2, observations: 3 });
    // An even count: the mean of the middle two (2.0 and 2.2 USD per percent).
    expect(
      calibrate([
        { percent: 10, tokens: 1_000_000, usd: 20 },
        { percent: 10, tokens: 3_000_000, usd: 22 },
      ]),
    ).toEqual({ tokens_per_percent: 200_000, usd_per_percent: 2.1, observations: 2 });
    expect(calibrate([{ percent: 0.9, tokens: 5, usd: 1 }])).toBeNull();
  });
});

describe('project', () => {
  const calibration = { tokens_per_percent: 200_000, usd_per_percent: 2, observations: 3 };

  it('carries the official figure forward with our cost since, then runs at our burn rate', () => {
    // 42 % seen 30 min ago, $4 spent since (= 2 %): 44 % now; $6/h = 3 %/h; 56 % left = 18.67 h.
    // The window resets in 3 h: it resets first, at 44 + 9 = 53 %.
    expect(
      project({
        now: T,
        percent: 42,
        seenAt: T - 0.5 * H,
        observedAt: T - 0.5 * H,
        resetsAt: T + 3 * H,
        costSinceSeen: 4,
        calibration,
        costPerHour: 6,
      }),
    ).toEqual({
      basis: 'burn_rate',
      percent_now: 44,
      percent_per_hour: 3,
      reaches_100_at: null,
      resets_first: true,
      percent_at_reset: 53,
    });
    // $40/h = 20 %/h from 90 %: 100 % in 30 min, before the reset in 3 h.
    expect(
      project({
        now: T,
        percent: 90,
        seenAt: T,
        observedAt: T,
        resetsAt: T + 3 * H,
        costSinceSeen: 0,
        calibration,
        costPerHour: 40,
      }),
    ).toMatchObject({
      reaches_100_at: '2026-12-02T10:30:00.000Z',
      resets_first: false,
      percent_at_reset: 100,
    });
  });

  it('without a calibration, follows how the official figure rose in this window', () => {
    // 10 % at 08:00, 30 % first seen at 10:00 (last seen 10:00): 10 %/h; 70 % left = 7 h → 17:00,
    // before the reset at 20:00.
    expect(
      project({
        now: T,
        percent: 30,
        seenAt: T,
        observedAt: T,
        resetsAt: T + 10 * H,
        costSinceSeen: 0,
        calibration: null,
        costPerHour: 5,
        earlier: { percent: 10, at: T - 2 * H },
      }),
    ).toEqual({
      basis: 'official_trend',
      percent_now: 30,
      percent_per_hour: 10,
      reaches_100_at: '2026-12-02T17:00:00.000Z',
      resets_first: false,
      percent_at_reset: 100,
    });
    expect(
      project({
        now: T,
        percent: 30,
        seenAt: T,
        observedAt: T,
        resetsAt: T + H,
        costSinceSeen: 0,
        calibration: null,
        costPerHour: 0,
      }),
    ).toBeNull();
  });
});
