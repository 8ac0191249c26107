import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HookEventDto } from '../dto/hook-event.dto';
import { ABANDON_AFTER_MS, SkillMetricsTracker, skillNameOf } from './skill-metrics.tracker';

const HOUR = 3_600_000;
const SAMPLES = readFileSync(
  join(__dirname, '..', '..', '..', 'test', 'fixtures', 'claude-code', 'hook-events.jsonl'),
  'utf8',
)
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as Record<string, unknown>);

let nextId = 1;
function event(payload: Record<string, unknown>, timestamp: number): HookEventDto {
  return {
    id: nextId++,
    source_app: 'shop',
    session_id: String(payload.session_id ?? 's'),
    hook_event_type: String(payload.hook_event_name),
    tool_name: (payload.tool_name as string | undefined) ?? null,
    tool_use_id: (payload.tool_use_id as string | undefined) ?? null,
    agent_id: null,
    payload,
    timestamp,
    timestamp_source: 'sender',
    received_at: timestamp,
    member: null,
  };
}

/** One invocation of `tool` ending at `at`. */
function invoke(
  tracker: SkillMetricsTracker,
  tool: string,
  at: number,
  ok: boolean,
  durationMs = 100,
): void {
  const id = `toolu_${nextId}`;
  tracker.ingest(
    event({ hook_event_name: 'PreToolUse', tool_name: tool, tool_use_id: id }, at - durationMs),
  );
  tracker.ingest(
    event(
      {
        hook_event_name: ok ? 'PostToolUse' : 'PostToolUseFailure',
        tool_name: tool,
        tool_use_id: id,
      },
      at,
    ),
  );
}

describe('SkillMetricsTracker', () => {
  it('gets invocations, completion rates and durations right from the real hook sample', () => {
    const t0 = Date.UTC(2026, 10, 22, 12);
    const tracker = new SkillMetricsTracker(() => t0 + 60_000);
    SAMPLES.forEach((payload, i) => tracker.ingest(event(payload, t0 + i * 1000)));
    const rows = tracker.rows(24 * HOUR);
    expect(rows.map((r) => r.skill_name).sort()).toEqual(['Bash', 'Read', 'Skill:pdf']);
    const by = Object.fromEntries(rows.map((r) => [r.skill_name, r]));
    expect(by.Read).toMatchObject({
      total_invocations: 1,
      completed: 1,
      completion_rate: 100,
      avg_duration_seconds: 0.042,
    });
    // The failure has no duration_ms: the time between its two events (1 s apart here).
    expect(by.Bash).toMatchObject({
      total_invocations: 1,
      failed: 1,
      completion_rate: 0,
      avg_duration_seconds: 1,
    });
    expect(by['Skill:pdf']).toMatchObject({
      total_invocations: 1,
      completion_rate: 100,
      avg_duration_seconds: 1.83,
      p95_duration_seconds: 1.83,
    });
    expect(tracker.anomalies()).toEqual([]);
  });

  it('names the Skill tool by its skill', () => {
    const e = event(
      {
        hook_event_name: 'PreToolUse',
        tool_name: 'Skill',
        tool_input: { skill: 'xlsx' },
        tool_use_id: 'a',
      },
      0,
    );
    expect(skillNameOf(e)).toBe('Skill:xlsx');
  });

  it('abandons an invocation unmatched after 10 minutes, and ignores a late finish', () => {
    let now = Date.UTC(2026, 10, 22, 12);
    const tracker = new SkillMetricsTracker(() => now);
    tracker.ingest(
      event({ hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_use_id: 'slow' }, now),
    );
    now += ABANDON_AFTER_MS - 1;
    tracker.sweep();
    expect(tracker.inFlight).toBe(1);
    now += 2;
    tracker.sweep();
    expect(tracker.inFlight).toBe(0);
    tracker.ingest(
      event({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_use_id: 'slow' }, now),
    );
    expect(tracker.rows(HOUR)[0]).toMatchObject({
      total_invocations: 1,
      abandoned: 1,
      completion_rate: null,
    });
  });

  it('flags a drop in completion in the last hour, and leaves steady data alone', () => {
    const now = Date.UTC(2026, 10, 22, 12, 30);
    const tracker = new SkillMetricsTracker(() => now);
    // 23 hours of a steady 90 % success for both skills.
    for (let h = 2; h <= 23; h++)
      for (let i = 0; i < 10; i++) {
        invoke(tracker, 'Bash', now - h * HOUR + i * 1000, i !== 0);
        invoke(tracker, 'Read', now - h * HOUR + i * 1000, i !== 0);
      }
    // Last hour: Bash fails 8 of 10, Read stays at 90 %.
    for (let i = 0; i < 10; i++) {
      invoke(tracker, 'Bash', now - 10 * 60_000 + i * 1000, i < 2);
      invoke(tracker, 'Read', now - 10 * 60_000 + i * 1000, i !== 0);
    }
    const anomalies = tracker.anomalies();
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({
      skill_name: 'Bash',
      anomaly_type: 'performance_drop',
      baseline_value: 90,
      observed_value: 20,
    });
    expect(anomalies[0].deviation_score).toBeLessThanOrEqual(-2);
  });

  it('flags a latency spike, and survives a zero standard deviation', () => {
    const now = Date.UTC(2026, 10, 22, 12, 30);
    const tracker = new SkillMetricsTracker(() => now);
    for (let h = 2; h <= 10; h++) invoke(tracker, 'Grep', now - h * HOUR, true, 200); // all identical
    invoke(tracker, 'Grep', now - 60_000, true, 200);
    invoke(tracker, 'Grep', now - 30_000, true, 200);
    expect(tracker.anomalies()).toEqual([]);
    invoke(tracker, 'Grep', now - 20_000, true, 5000);
    invoke(tracker, 'Grep', now - 10_000, true, 5000);
    const [spike] = tracker.anomalies();
    expect(spike).toMatchObject({
      skill_name: 'Grep',
      anomaly_type: 'latency_spike',
      baseline_value: 0.2,
    });
    expect(Number.isFinite(spike.deviation_score)).toBe(true);
  });
});
