import { describe, expect, it } from 'vitest';
import { ValidationFailedError } from '../common/app-error';
import { valueDepth as nestingDepth } from '../common/json-guard';
import { normalizeHookEvent } from './hook-event.normalizer';

const fields = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as ValidationFailedError).fieldErrors.map((e) => e.field).sort();
  }
  return [];
};

describe('normalizeHookEvent', () => {
  const NOW = Date.parse('2026-12-01T12:00:00Z');

  it('takes the app from the header, then the cwd, and the time from the payload or now', () => {
    const raw = { hook_event_name: 'Stop', session_id: 's1', cwd: '/home/dev/shop/' };
    expect(normalizeHookEvent(raw, undefined, NOW)).toMatchObject({
      sourceApp: 'shop',
      timestamp: NOW,
      timestampSource: 'received',
      payload: raw,
    });
    expect(normalizeHookEvent(raw, 'cli', NOW).sourceApp).toBe('cli');
    expect(normalizeHookEvent({ ...raw, cwd: undefined }, undefined, NOW).sourceApp).toBe(
      'unknown',
    );
    expect(
      normalizeHookEvent({ ...raw, timestamp: '2026-01-01T00:00:00Z' }, undefined, NOW),
    ).toMatchObject({ timestamp: Date.parse('2026-01-01T00:00:00Z'), timestampSource: 'sender' });
    expect(normalizeHookEvent({ ...raw, timestamp: 1_790_000_000 }, undefined, NOW).timestamp).toBe(
      1_790_000_000_000,
    );
  });

  it('takes the received time for a timestamp outside 2000 … a day ahead, and says so', () => {
    const raw = { hook_event_name: 'Stop', session_id: 's1' };
    for (const timestamp of [1e20, 5e12, '1970-01-02T00:00:00Z', NOW + 25 * 3_600_000])
      expect(normalizeHookEvent({ ...raw, timestamp }, undefined, NOW)).toMatchObject({
        timestamp: NOW,
        timestampSource: 'out_of_range',
        payload: { timestamp },
      });
    expect(
      normalizeHookEvent({ ...raw, timestamp: NOW + 23 * 3_600_000 }, undefined, NOW),
    ).toMatchObject({ timestamp: NOW + 23 * 3_600_000, timestampSource: 'sender' });
  });

  it('reads the envelope, with the session id in it or in its payload', () => {
    const e = normalizeHookEvent(
      {
        source_app: 'shop',
        hook_event_type: 'PreToolUse',
        payload: { session_id: 's9', tool_name: 'Bash', tool_use_id: 'toolu_1' },
        timestamp: NOW - 1000,
      },
      'ignored',
      NOW,
    );
    expect(e).toMatchObject({
      sourceApp: 'shop',
      sessionId: 's9',
      hookEventType: 'PreToolUse',
      toolName: 'Bash',
      toolUseId: 'toolu_1',
      timestamp: NOW - 1000,
    });
  });

  it('lists every problem at once', () => {
    expect(fields(() => normalizeHookEvent('text', undefined, NOW))).toEqual(['body']);
    expect(
      fields(() =>
        normalizeHookEvent(
          { session_id: 'a b', tool_use_id: 3, agent_id: 'x'.repeat(200) },
          undefined,
          NOW,
        ),
      ),
    ).toEqual(['agent_id', 'hook_event_name', 'session_id', 'tool_use_id']);
    expect(
      fields(() =>
        normalizeHookEvent({ hook_event_name: 'Stop', session_id: 's' }, 'bad\napp', NOW),
      ),
    ).toEqual(['X-Source-App']);
  });

  it('measures nesting without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    expect(nestingDepth(deep, 64)).toBe(65);
    expect(nestingDepth({ a: [1, { b: [] }] })).toBe(4);
  });
});
