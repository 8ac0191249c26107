import { fake } from '../../test/support/fake';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DomainEvents } from '../common/domain-events';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import type { PeriodicJobs } from '../cluster/periodic-jobs';
import { loadConfig } from '../config/load-config';
import type { SkillMetricsService } from '../events/skill-metrics/skill-metrics.service';
import type { UsageStatsDto } from '../usage/dto/usage-payload.dto';
import type { DataSourceName } from '../usage/usage-params';
import type { UsageService } from '../usage/usage.service';
import type { LimitsService } from '../limits/limits.service';
import type { BudgetsService } from '../team/budgets/budgets.service';
import type { BudgetDto } from '../team/dto/team-budget.dto';
import type { AlertRecord } from './alert.entity';
import type { AlertStore, NewAlert } from './alert.store';
import type { AlertWebhooks } from './alert-webhooks';
import { AlertsService } from './alerts.service';

/** An AlertStore in memory: a key is claimed once. */
function memoryStore() {
  const rows: AlertRecord[] = [];
  return {
    rows,
    claim: vi.fn(async (alert: NewAlert) => {
      if (rows.some((r) => r.key === alert.key)) return undefined;
      const row = { ...alert, id: rows.length + 1 };
      rows.push(row);
      return row;
    }),
  };
}

describe('AlertsService', () => {
  const anomaly = {
    skill_name: 'deploy',
    detected_at: '2026-11-30T09:41:00.000Z',
    anomaly_type: 'performance_drop' as const,
    deviation_score: -3.2,
    baseline_value: 0.95,
    observed_value: 0.4,
  };

  function service(
    stats: { source: DataSourceName; payload: unknown },
    anomalies = [anomaly],
    now = () => Date.parse('2026-11-30T10:00:00.000Z'),
    budgets: BudgetDto[] = [],
  ) {
    const store = memoryStore();
    const send = vi.fn();
    const events = new DomainEvents(new EventEmitter2());
    const emit = vi.spyOn(events, 'emit');
    const alerts = new AlertsService(
      fake<AlertStore>(store),
      fake<AlertWebhooks>({ send, targets: () => ['hash'] }),
      fake<UsageService>({
        statsForPush: vi.fn(async () => ({
          source: stats.source,
          payload: stats.payload as UsageStatsDto,
          ageSeconds: 0,
        })),
        isInEffect: vi.fn(async () => true),
      }),
      fake<LimitsService>({
        limits: vi.fn(async () => ({
          member: 'local',
          windows: [],
          last_limit_reached: null,
          generated_at: new Date(now()).toISOString(),
        })),
      }),
      fake<SkillMetricsService>({
        snapshot: () => ({ top_skills: [], anomalies }),
      }),
      fake<BudgetsService>({ status: vi.fn(async () => budgets) }),
      events,
      fake<PeriodicJobs>({ every: vi.fn() }),
      loadConfig({}),
      new Registry(),
      now,
    );
    return { alerts, store, send, emit };
  }

  it('raises a skill anomaly once per skill, kind and hour, and sends what it stored', async () => {
    const { alerts, store, send, emit } = service({ source: 'default', payload: {} });
    await alerts.check();
    await alerts.check();
    expect(store.rows.map((r) => r.key)).toEqual([
      'skill_anomaly:deploy:performance_drop:2026-11-30T09',
    ]);
    expect(send).toHaveBeenCalledTimes(1);
    expect(send.mock.calls[0][0]).toMatchObject({
      type: 'skill_anomaly',
      severity: 'warning',
      id: 1,
    });
    expect(emit).toHaveBeenCalledTimes(1);
  });

  it('raises a budget at 80 % and 100 %, once per period (the highest when crossed at once)', async () => {
    const budget = (spent: number, start = '2026-11-30'): BudgetDto => ({
      id: 7,
      member: 'alice',
      team: false,
      period: 'day',
      usd: 10,
      timezone: 'UTC',
      enforce: false,
      period_start: start,
      spent_usd: spent,
      percent: spent * 10,
    });
    const list = [budget(8.5)];
    const { alerts, store, send } = service(
      { source: 'default', payload: {} },
      [],
      undefined,
      list,
    );
    await alerts.check();
    list[0] = budget(12);
    await alerts.check();
    await alerts.check();
    list[0] = budget(11, '2026-12-01');
    await alerts.check();
    expect(store.rows.filter((r) => r.type === 'budget').map((r) => r.key)).toEqual([
      'budget:7:2026-11-30:80',
      'budget:7:2026-11-30:100',
      'budget:7:2026-12-01:80',
      'budget:7:2026-12-01:100',
    ]);
    const sent = send.mock.calls.map(
      ([a]) => a as { key: string; severity: string; title: string },
    );
    expect(sent.map((a) => `${a.key} ${a.severity}`)).toEqual([
      'budget:7:2026-11-30:80 warning',
      'budget:7:2026-11-30:100 critical',
      'budget:7:2026-12-01:100 critical',
    ]);
    expect(sent[0].title).toBe("80% of alice's daily budget spent");
  });

  it('does not judge usage from a stored snapshot or zeros (old data says nothing about now)', async () => {
    const stale = {
      current_session: { id: 'b1', cost_usd: 1, start_time: 'x', end_time: 'y' },
      totals: { token_percentage: 99, tokens: 18_900 },
      predictions: { tokens_run_out: null },
      burn_rate: { tokens_per_minute: 1 },
      config_applied: { plan: 'pro', limits: { tokens: 19_000 } },
    };
    const { alerts, store } = service({ source: 'snapshot', payload: stale });
    await alerts.check();
    expect(store.rows.filter((r) => r.type === 'limit_threshold')).toEqual([]);
    const live = service({ source: 'bridge', payload: stale });
    await live.alerts.check();
    expect(live.store.rows.filter((r) => r.type === 'limit_threshold').map((r) => r.key)).toEqual([
      'limit_threshold:b1:50',
      'limit_threshold:b1:80',
      'limit_threshold:b1:95',
    ]);
    // Crossed at once: only 95 % is sent; 50 and 80 are stored as passed over, never sent later.
    const sentThresholds = () =>
      live.send.mock.calls
        .map(([a]) => a as { type: string; data: { threshold?: number } })
        .filter((a) => a.type === 'limit_threshold')
        .map((a) => a.data.threshold);
    expect(sentThresholds()).toEqual([95]);
    await live.alerts.check();
    expect(sentThresholds()).toEqual([95]);
  });

  it('escapes a skill name in alert text (no receiver markup) and one failing anomaly spares the rest', async () => {
    const hostile = { ...anomaly, skill_name: 'Skill:<!channel> & <https://evil.example|x>' };
    const { alerts, store, send } = service({ source: 'default', payload: {} }, [
      { ...anomaly, skill_name: 'first' },
      hostile,
    ]);
    store.claim.mockRejectedValueOnce(new Error('value too long for type character varying(200)'));
    await alerts.check();
    expect(store.rows.map((r) => r.key)).toEqual([
      'skill_anomaly:Skill:<!channel> & <https://evil.example|x>:performance_drop:2026-11-30T09',
    ]);
    const sent = send.mock.calls[0][0] as { title: string; text: string };
    expect(sent.title).toBe(
      'Skill Skill:&lt;!channel&gt; &amp; &lt;https://evil.example|x&gt;: performance drop',
    );
    expect(sent.text).not.toMatch(/[<>]/);
  });

  it('fits a long skill name’s alert to its columns (key and title ≤ 200), one key per alert', async () => {
    const long = { ...anomaly, skill_name: `skill-${'<'.repeat(150)}-${'x'.repeat(150)}` };
    const other = { ...long, skill_name: `${long.skill_name}y` };
    const { alerts, store } = service({ source: 'default', payload: {} }, [long, other]);
    await alerts.check();
    await alerts.check();
    expect(store.rows).toHaveLength(2);
    for (const row of store.rows) {
      expect(row.key.length).toBeLessThanOrEqual(200);
      expect(row.title.length).toBeLessThanOrEqual(200);
      expect(row.title.endsWith('…')).toBe(true);
    }
    expect(store.rows[0].key).not.toBe(store.rows[1].key);
  });

  // The clock is injected: the verdict depends on the usage and that clock, never on when the
  // suite runs (a test that read the wall clock failed between 01:10 and 01:20 UTC).
  for (const clock of ['00:59', '04:59', '23:59'])
    it(`announces a predicted limit only within ALERT_LIMIT_LEAD_MIN (30) of it, at ${clock}`, async () => {
      const now = Date.parse(`2026-12-02T${clock}:00.000Z`);
      const stats = (minutesToLimit: number) => ({
        source: 'bridge' as const,
        payload: {
          current_session: {
            id: `b-${clock}`,
            cost_usd: 1,
            start_time: new Date(now - 3_600_000).toISOString(),
            end_time: new Date(now + 4 * 3_600_000).toISOString(),
          },
          totals: { token_percentage: 40, tokens: 7600 },
          predictions: { tokens_run_out: new Date(now + minutesToLimit * 60_000).toISOString() },
          burn_rate: { tokens_per_minute: 100 },
          config_applied: { plan: 'pro', limits: { tokens: 19_000 } },
        },
      });
      const far = service(stats(31), [], () => now);
      await far.alerts.check();
      expect(far.store.rows.filter((r) => r.type === 'limit_predicted')).toEqual([]);
      const near = service(stats(29), [], () => now);
      await near.alerts.check();
      expect(near.store.rows.filter((r) => r.type === 'limit_predicted').map((r) => r.key)).toEqual(
        [`limit_predicted:b-${clock}`],
      );
    });
});
