import { describe, expect, it } from 'vitest';
import { credentialFrom } from './auth';
import { EventStore, summarize, type TimelineEvent } from './event-store';
import {
  formatAge,
  formatMinutes,
  formatMoney,
  formatPercent,
  formatTokens,
  sessionHue,
} from './format';
import { blockProjection } from './projection';
import { stack } from './stack';

const event = (id: number, type = 'PreToolUse', timestamp = id * 1000): TimelineEvent => ({
  id,
  type,
  source_app: id % 2 ? 'shop' : 'bank',
  session_id: `s-${id % 3}`,
  timestamp,
  summary: `Bash · npm test ${id}`,
  payload: {},
});

describe('EventStore', () => {
  it('keeps each id once, newest first, whatever the arrival order (replay after a reconnect)', () => {
    const store = new EventStore(10);
    expect(store.add([event(3), event(1), event(2)])).toBe(3);
    expect(store.add([event(2), event(3), event(4)])).toBe(1); // the replay repeats 2 and 3
    expect(store.all().map((e) => e.id)).toEqual([4, 3, 2, 1]);
    expect(store.lastId).toBe(4);
  });

  it('holds at most its capacity, dropping the oldest, and stays bounded under a flood', () => {
    const store = new EventStore(5000);
    for (let i = 1; i <= 20_000; i++) store.add([event(i)]);
    expect(store.size).toBe(5000);
    expect(store.all()[0].id).toBe(20_000);
    expect(store.all().at(-1)!.id).toBe(15_001);
    expect(store.add([event(10)])).toBe(0); // older than all kept: not taken back in
  });

  it('filters by source, session, type and text', () => {
    const store = new EventStore();
    store.add([event(1), event(2, 'Stop'), event(3), event(4, 'Stop')]);
    expect(store.filter({ type: 'Stop' }).map((e) => e.id)).toEqual([4, 2]);
    expect(store.filter({ sourceApp: 'shop' }).map((e) => e.id)).toEqual([3, 1]);
    expect(store.filter({ sessionId: 's-1' }).map((e) => e.id)).toEqual([4, 1]);
    expect(store.filter({ text: 'TEST 3' }).map((e) => e.id)).toEqual([3]);
  });

  it('counts events per 10 s over the last 5 minutes by type (the pulse)', () => {
    const store = new EventStore();
    const now = 1_000_000;
    store.add([
      event(1, 'PreToolUse', now - 5000),
      event(2, 'Stop', now - 5000),
      event(3, 'PreToolUse', now - 25_000),
      event(4, 'Stop', now - 400_000),
    ]);
    const { starts, byType } = store.pulse(now);
    expect(starts).toHaveLength(30);
    expect(byType.get('PreToolUse')!.reduce((a, b) => a + b)).toBe(2);
    expect(byType.get('Stop')!.reduce((a, b) => a + b)).toBe(1); // the old one is out of the window
    const bucket = starts.findIndex((t) => t <= now - 5000 && now - 5000 < t + 10_000);
    expect(byType.get('PreToolUse')![bucket]).toBe(1);
    expect(starts.at(-1)).toBeLessThanOrEqual(now);
  });

  it('summarizes a hook payload by its tool and input, else its prompt or message', () => {
    expect(
      summarize('PreToolUse', { tool_name: 'Bash', tool_input: { command: 'npm test' } }),
    ).toBe('Bash · npm test');
    expect(summarize('UserPromptSubmit', { prompt: 'fix it' })).toBe('fix it');
    expect(summarize('Stop', {})).toBe('Stop');
  });
});

describe('formatting', () => {
  it('writes numbers the same way everywhere', () => {
    expect([
      formatTokens(950),
      formatTokens(1500),
      formatTokens(19_000),
      formatTokens(2_345_678),
    ]).toEqual(['950', '1.5k', '19k', '2.35M']);
    expect(formatTokens(undefined)).toBe('—');
    expect(formatMoney(3.456)).toBe('$3.46');
    expect([formatPercent(3.25), formatPercent(37.6)]).toEqual(['3.3%', '38%']);
    expect([formatMinutes(135), formatMinutes(42), formatMinutes(-3)]).toEqual([
      '2h 15m',
      '42m',
      '0m',
    ]);
    expect([formatAge(12), formatAge(180), formatAge(7200), formatAge(86_400 * 3)]).toEqual([
      '12s',
      '3m',
      '2h',
      '3d',
    ]);
  });

  it('gives sessions whose ids differ in one character clearly different colours', () => {
    const hues = ['dash-1', 'dash-2', 'dash-3'].map(sessionHue);
    for (let i = 0; i < hues.length; i++)
      for (let j = i + 1; j < hues.length; j++) {
        const apart = Math.abs(hues[i] - hues[j]);
        expect(Math.min(apart, 360 - apart)).toBeGreaterThanOrEqual(30);
      }
    expect(sessionHue('dash-1')).toBe(sessionHue('dash-1'));
  });

  it('takes a JWT for a token and anything else for an API key', () => {
    expect(credentialFrom(' eyJh.eyJz.c2ln ').kind).toBe('token');
    expect(credentialFrom('my-api-key-0123456789').kind).toBe('api_key');
    expect(credentialFrom('ugm_AbCdEfGh').kind).toBe('token');
  });
});

describe('blockProjection', () => {
  const block = {
    start_time: '2026-11-30T09:00:00.000Z',
    end_time: '2026-11-30T14:00:00.000Z',
    total_tokens: 6000,
    burn_rate: { tokens_per_minute: 100 },
  };
  const now = Date.parse('2026-11-30T10:00:00.000Z');

  it('rises to the tokens used at now, then goes on at the burn rate to the block end', () => {
    const p = blockProjection(block, 19_000, now);
    const at = p.x.indexOf(now / 1000);
    expect(p.used[at]).toBe(6000);
    expect(p.projected[at]).toBe(6000);
    expect(p.used.at(-1)).toBeNull();
    expect(p.projected.at(-1)).toBe(6000 + 100 * 240);
    expect(p.x[0]).toBe(Date.parse(block.start_time) / 1000);
    expect(p.x.at(-1)).toBe(Date.parse(block.end_time) / 1000);
    // 13,000 tokens to go at 100/min: 130 min after now.
    expect(p.reachesLimitAt).toBe(now + 130 * 60_000);
  });

  it('says "not at this rate" (null) when the limit lies beyond the block end', () => {
    expect(
      blockProjection({ ...block, burn_rate: { tokens_per_minute: 10 } }, 19_000, now)
        .reachesLimitAt,
    ).toBeNull();
  });
});

describe('stack', () => {
  it('orders parts largest first and sums the rest under each, so each band is its own', () => {
    const { names, cumulative, own } = stack(
      new Map([
        ['small', [1, 0]],
        ['big', [5, 5]],
      ]),
    );
    expect(names).toEqual(['big', 'small']);
    expect(cumulative).toEqual([
      [6, 5],
      [1, 0],
    ]);
    expect(own).toEqual([
      [5, 5],
      [1, 0],
    ]);
  });
});
