import { describe, expect, it } from 'vitest';
import type { UsageConfigDto } from './dto/usage-config.dto';
import { paramsKey, reportParams, sessionsParams, statsParams } from './usage-params';

const stored: UsageConfigDto = {
  plan: 'max5',
  custom_limit_tokens: null,
  timezone: 'Europe/Berlin',
  reset_hour: 6,
  theme: 'auto',
  updated_at: '2026-12-01T00:00:00.000Z',
};

describe('usage parameters', () => {
  it("takes a stats call's parameters from the request, else the stored config", () => {
    expect(statsParams({ plan: 'pro' }, stored)).toEqual({
      plan: 'pro',
      custom_limit_tokens: undefined,
      timezone: 'Europe/Berlin',
      reset_hour: 6,
    });
  });

  it('applies report defaults, so equal requests share one key', () => {
    const daily = reportParams('daily', {}, stored);
    expect(daily).toMatchObject({ timezone: 'Europe/Berlin', order: 'asc', breakdown: 'true' });
    expect(daily.start_of_week).toBeUndefined();
    expect(reportParams('weekly', {}, stored).start_of_week).toBe('sunday');
    expect(paramsKey(reportParams('daily', { order: 'asc' }, stored))).toBe(paramsKey(daily));
    expect(
      reportParams('daily', {}, { ...stored, timezone: 'auto', reset_hour: null }),
    ).toMatchObject({ timezone: 'UTC', reset_hour: 0 });
  });

  it('gives sessions 24 hours and 100 blocks unless asked otherwise', () => {
    expect(sessionsParams({})).toEqual({ hours_back: 24, limit: 100, session_id: undefined });
    expect(sessionsParams({ hours_back: 5, session_id: '' }).session_id).toBeUndefined();
  });
});
