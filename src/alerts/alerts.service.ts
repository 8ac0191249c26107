import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { sha256Hex } from '../common/sha256-hex';
import { Counter, Registry } from 'prom-client';
import { BRIDGE_STATUS_EVENT, type BridgeStatusEvent } from '../bridge/bridge-status.event';
import { PeriodicJobs } from '../cluster/periodic-jobs';
import { CLOCK, type Clock } from '../common/clock';
import { BUDGETS_UNCHECKED, type BudgetsUncheckedEvent } from '../proxy/proxy.events';
import { AppConfig } from '../config/app-config';
import { SkillMetricsService } from '../events/skill-metrics/skill-metrics.service';
import type { UsageStatsDto } from '../usage/dto/usage-payload.dto';
import { USAGE_UPDATED_EVENT, type UsageUpdatedEvent } from '../usage/usage.events';
import { UsageService } from '../usage/usage.service';
import {
  LIMIT_REACHED,
  LIMITS_OBSERVED,
  type LimitReachedEvent,
  type LimitsObservedEvent,
} from '../limits/limits.events';
import { LimitsService, LOCAL_MEMBER } from '../limits/limits.service';
import { BudgetsService } from '../team/budgets/budgets.service';
import type { LimitWindow } from '../limits/limit-observation.entity';
import type { AlertSeverity, AlertType } from './alert.entity';
import { ALERT_RAISED, type AlertRaisedEvent } from './alert.events';
import { AlertStore, toDto } from './alert.store';
import { AlertWebhooks } from './alert-webhooks';
import { DomainEvents, OnDomainEvent } from '../common/domain-events';

export const LIMIT_THRESHOLDS = [50, 80, 95] as const;
/** A budget's thresholds (docs/design.md §9). */
export const BUDGET_THRESHOLDS = [80, 100] as const;
const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export interface Raise {
  readonly key: string;
  readonly type: AlertType;
  readonly severity: AlertSeverity;
  readonly title: string;
  readonly text: string;
  readonly data: Record<string, unknown>;
}

const money = (n: number) => `$${n.toFixed(2)}`;
const PERIOD_WORD = { day: 'daily', week: 'weekly', month: 'monthly' } as const;
const WINDOW_LABEL: Record<LimitWindow, string> = { five_hour: '5-hour', seven_day: 'weekly' };

/**
 * A name from a hook payload as alert text: `&`, `<` and `>` escaped, as Slack and similar
 * receivers ask (`<!channel>` or `<https://…|click>` would otherwise be markup).
 */
function plainText(name: string): string {
  return name.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * Alerts (docs/design.md §8): the current block crossing 50/80/95 % of the plan's limit, the limit
 * predicted within ALERT_LIMIT_LEAD_MIN, a skill anomaly, the bridge failing and recovering.
 * Usage is checked whenever a stats read brings news and every ALERT_CHECK_INTERVAL_MS besides
 * (nobody may be looking). Every alert has a key; the instance that stores the key first sends it
 * (webhooks, `alert` to dashboards): once across instances and restarts.
 */
@Injectable()
export class AlertsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AlertsService.name);
  private readonly instance = randomUUID().slice(0, 8);
  private readonly raised: Counter<'type'>;
  private checking: Promise<void> | undefined;
  private bridgeState: BridgeStatusEvent['state'] | undefined;
  /** Whether the bridge failed since it was last ready (a later `ready` is a recovery). */
  private bridgeFailed = false;
  private readonly claiming = new Set<string>();

  constructor(
    private readonly store: AlertStore,
    private readonly webhooks: AlertWebhooks,
    private readonly usage: UsageService,
    private readonly limits: LimitsService,
    private readonly skills: SkillMetricsService,
    private readonly budgets: BudgetsService,
    private readonly events: DomainEvents,
    private readonly jobs: PeriodicJobs,
    private readonly config: AppConfig,
    registry: Registry,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.raised = new Counter({
      name: 'alerts_raised_total',
      help: 'Alerts raised (stored and sent) by this instance, by type',
      labelNames: ['type'],
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    // Every instance checks (the key decides who announces); pruning is once across the cluster.
    this.jobs.every('alert-check', this.config.alerts.checkIntervalMs, () => this.check());
    if (this.config.events.retentionDays > 0)
      this.jobs.every('alert-prune', PRUNE_EVERY_MS, () => this.prune(), {
        cluster: true,
        runAtStart: true,
      });
  }

  /** One check of usage and skills; one at a time. */
  check(): Promise<void> {
    this.checking ??= (async () => {
      try {
        const { payload, source } = await this.usage.statsForPush({}, 2000);
        // Old data (a stored snapshot, zeros) says nothing about now.
        if (source === 'bridge' || source === 'cache') await this.evaluateUsage(payload);
        await this.evaluateSkills();
        await this.evaluateOfficial();
        await this.evaluateBudgets();
      } catch (error) {
        this.logger.warn(`alert check failed: ${(error as Error).message}`);
      }
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }

  @OnDomainEvent(USAGE_UPDATED_EVENT)
  async onUsageUpdated(update: UsageUpdatedEvent): Promise<void> {
    if (update.kind !== 'stats' || !(await this.usage.isInEffect(update.params))) return;
    await this.evaluateUsage(update.payload as UsageStatsDto).catch((error: Error) =>
      this.logger.warn(`alert check failed: ${error.message}`),
    );
  }

  /**
   * Claude Code's official figure changed: 50 / 80 / 95 % of a window, once per window (its
   * `resets_at` names it); several crossed at once announce the highest.
   */
  @OnDomainEvent(LIMITS_OBSERVED)
  async onLimitsObserved(observed: LimitsObservedEvent): Promise<void> {
    const label = WINDOW_LABEL[observed.window];
    const who = observed.member === LOCAL_MEMBER ? '' : ` (${plainText(observed.member)})`;
    const resets = new Date(observed.resetsAt).toISOString();
    const agent = observed.agent === 'codex' ? 'Codex' : 'Claude Code';
    const data = {
      member: observed.member,
      agent: observed.agent,
      window: observed.window,
      used_percentage: observed.percent,
      resets_at: resets,
    };
    // (Claude Code's keys stay as they were before other agents: an alert is not raised again.)
    const space = observed.agent === 'claude' ? '' : `${observed.agent}:`;
    await this.raiseThresholds(observed.percent, data, (threshold) => ({
      key: `official_limit:${space}${observed.member}:${observed.window}:${observed.resetsAt}:${threshold}`,
      type: 'official_limit',
      title: `${threshold}% of ${observed.agent === 'claude' ? 'the' : `${agent}'s`} ${label} limit used${who}`,
      text: `${agent} reports ${observed.percent}% of its ${label} limit used${who}; the window resets at ${resets}.`,
    })).catch((error: Error) => this.logger.warn(`official limit alert failed: ${error.message}`));
  }

  /**
   * Proxied requests went through while enforced budgets could not be checked (the database
   * away, PROXY_FAIL_CLOSED=false): told once the budgets can be checked again, once per episode.
   */
  @OnDomainEvent(BUDGETS_UNCHECKED)
  async onBudgetsUnchecked(episode: BudgetsUncheckedEvent): Promise<void> {
    const from = new Date(episode.from).toISOString();
    const to = new Date(episode.to).toISOString();
    await this.raise({
      key: `budget_unchecked:${episode.from}`,
      type: 'budget_unchecked',
      severity: 'warning',
      title: `${episode.requests} model request${episode.requests === 1 ? '' : 's'} went through without a budget check`,
      text: `Enforced budgets could not be checked from ${from} to ${to} (the database was unreachable); the gateway let ${episode.requests} request${episode.requests === 1 ? '' : 's'} through (PROXY_FAIL_CLOSED=false).`,
      data: { from, to, requests: episode.requests },
    }).catch((error: Error) =>
      this.logger.warn(`unchecked budgets alert failed: ${error.message}`),
    );
  }

  /**
   * 50 / 80 / 95 % of a limit, each once (its key). Several thresholds crossed at once (at boot,
   * or after a burst) announce only the highest; the lower ones are stored as passed over, so
   * they are not announced later either.
   */
  private async raiseThresholds(
    percent: number,
    data: Record<string, unknown>,
    describe: (threshold: number) => Pick<Raise, 'key' | 'type' | 'title' | 'text'>,
    thresholds: readonly number[] = LIMIT_THRESHOLDS,
  ): Promise<void> {
    const crossed = thresholds.filter((threshold) => percent >= threshold);
    for (const threshold of crossed) {
      const highest = threshold === crossed.at(-1);
      await this.raise(
        {
          ...describe(threshold),
          severity: threshold >= 95 ? 'critical' : threshold >= 80 ? 'warning' : 'info',
          data: highest ? { ...data, threshold } : { ...data, threshold, passed_over: true },
        },
        { announce: highest },
      );
    }
  }

  /**
   * Budgets (docs/design.md §9): 80 % and 100 % of a member's or the team's budget, each once per
   * period (the period's first day is in the key).
   */
  private async evaluateBudgets(): Promise<void> {
    for (const budget of await this.budgets.status()) {
      if (budget.percent < BUDGET_THRESHOLDS[0]) continue;
      const who = budget.member === null ? 'the team' : plainText(budget.member);
      const data = {
        budget_id: budget.id,
        member: budget.member,
        period: budget.period,
        period_start: budget.period_start,
        usd: budget.usd,
        spent_usd: budget.spent_usd,
        percent: budget.percent,
      };
      await this.raiseThresholds(
        budget.percent,
        data,
        (threshold) => ({
          key: `budget:${budget.id}:${budget.period_start}:${threshold}`,
          type: 'budget',
          title: `${threshold}% of ${who}'s ${PERIOD_WORD[budget.period]} budget spent`,
          text: `${who === 'the team' ? 'The team' : who} spent ${money(budget.spent_usd)} of a ${money(budget.usd)} budget this ${budget.period} (since ${budget.period_start}, ${Math.round(budget.percent)}%).`,
        }),
        BUDGET_THRESHOLDS,
      );
    }
  }

  /** Claude Code stopped on a rate limit (StopFailure). */
  @OnDomainEvent(LIMIT_REACHED)
  async onLimitReached(reached: LimitReachedEvent): Promise<void> {
    const who = reached.member === LOCAL_MEMBER ? '' : ` (${plainText(reached.member)})`;
    const at = new Date(reached.at).toISOString();
    await this.raise({
      key: `limit_reached:${reached.member}:${at.slice(0, 16)}`,
      type: 'limit_reached',
      severity: 'critical',
      title: `Claude Code hit its rate limit${who}`,
      text: `Claude Code stopped on a rate limit at ${at}${who}${reached.details ? ` (${plainText(reached.details)})` : ''}.`,
      data: { member: reached.member, session_id: reached.sessionId, details: reached.details, at },
    }).catch((error: Error) => this.logger.warn(`limit reached alert failed: ${error.message}`));
  }

  /** The official limit predicted within ALERT_LIMIT_LEAD_MIN, from the projection. */
  private async evaluateOfficial(): Promise<void> {
    const limits = await this.limits.limits(LOCAL_MEMBER);
    const lead = this.config.alerts.limitLeadMin;
    for (const window of limits.windows) {
      const reachesAt = window.projection?.reaches_100_at;
      if (!window.official || !window.window_end || !reachesAt) continue;
      const minutes = Math.max(0, Math.round((Date.parse(reachesAt) - this.now()) / 60_000));
      if (minutes > lead || window.official.used_percentage >= 100) continue;
      const label = WINDOW_LABEL[window.window];
      await this.raise({
        key: `official_limit_predicted:${limits.member}:${window.window}:${Date.parse(window.window_end)}`,
        type: 'official_limit_predicted',
        severity: 'warning',
        title: `The ${label} limit is predicted in ${minutes} min`,
        text: `At the current rate Claude Code's ${label} limit (now ${window.projection?.percent_now}%) is reached at ${reachesAt}, in about ${minutes} minutes — before the window resets at ${window.window_end}.`,
        data: {
          member: limits.member,
          window: window.window,
          reaches_100_at: reachesAt,
          minutes_left: minutes,
          projection: window.projection,
          resets_at: window.window_end,
        },
      });
    }
  }

  @OnDomainEvent(BRIDGE_STATUS_EVENT)
  async onBridgeStatus(status: BridgeStatusEvent): Promise<void> {
    const before = this.bridgeState;
    this.bridgeState = status.state;
    if (before === status.state) return;
    // Each instance runs its own bridge: its failure is its own alert (the key names it).
    const at = new Date(status.timestamp).toISOString();
    // `failed` comes back on every attempt of a crash loop: one alert until it has recovered.
    if (status.state === 'failed' && !this.bridgeFailed) {
      this.bridgeFailed = true;
      await this.raise({
        key: `bridge_failed:${this.instance}:${at}`,
        type: 'bridge_failed',
        severity: 'critical',
        title: 'The usage bridge failed',
        text: `The usage bridge keeps failing (${status.reason ?? 'no reason given'}); usage is served from stored snapshots until it is back.`,
        data: { instance: this.instance, reason: status.reason, state: status.state },
      });
    } else if (this.bridgeFailed && status.state === 'ready') {
      this.bridgeFailed = false;
      await this.raise({
        key: `bridge_recovered:${this.instance}:${at}`,
        type: 'bridge_recovered',
        severity: 'info',
        title: 'The usage bridge is back',
        text: 'The usage bridge is running again; live usage data is back.',
        data: { instance: this.instance, state: status.state },
      });
    }
  }

  private async evaluateUsage(stats: UsageStatsDto): Promise<void> {
    const block = stats.current_session;
    if (!block || !stats.totals) return;
    const percentage = stats.totals.token_percentage;
    const applied = stats.config_applied as {
      plan?: string;
      limits?: { tokens?: number };
    };
    const plan = applied.plan ?? 'pro';
    const limit = applied.limits?.tokens ?? 0;
    const data = {
      block_id: block.id,
      block_start: block.start_time,
      block_end: block.end_time,
      plan,
      limit_tokens: limit,
      tokens: stats.totals.tokens,
      percentage,
      cost_usd: block.cost_usd,
    };
    await this.raiseThresholds(percentage, data, (threshold) => ({
      key: `limit_threshold:${block.id}:${threshold}`,
      type: 'limit_threshold',
      title: `${threshold}% of the ${plan} limit used`,
      text: `Claude Code usage has reached ${percentage}% of the ${plan} plan's limit in the current 5-hour block (${stats.totals.tokens} of ${limit} tokens, ${money(block.cost_usd)}); the block ends at ${block.end_time}.`,
    }));
    const runOut = stats.predictions?.tokens_run_out;
    const lead = this.config.alerts.limitLeadMin;
    if (runOut && percentage < 100 && Date.parse(runOut) - this.now() <= lead * 60_000) {
      const minutes = Math.max(0, Math.round((Date.parse(runOut) - this.now()) / 60_000));
      await this.raise({
        key: `limit_predicted:${block.id}`,
        type: 'limit_predicted',
        severity: 'warning',
        title: `The ${plan} limit is predicted in ${minutes} min`,
        text: `At the current burn rate (${Math.round(stats.burn_rate.tokens_per_minute)} tokens/min) Claude Code usage will reach the ${plan} plan's limit at ${runOut}, in about ${minutes} minutes — before the block ends at ${block.end_time}.`,
        data: { ...data, tokens_run_out: runOut, minutes_left: minutes, lead_minutes: lead },
      });
    }
  }

  private async evaluateSkills(): Promise<void> {
    for (const anomaly of this.skills.snapshot().anomalies) {
      const hour = anomaly.detected_at.slice(0, 13);
      // One anomaly that cannot be stored must not keep the others from being announced.
      await this.raise({
        key: `skill_anomaly:${anomaly.skill_name}:${anomaly.anomaly_type}:${hour}`,
        type: 'skill_anomaly',
        severity: 'warning',
        title: `Skill ${plainText(anomaly.skill_name)}: ${anomaly.anomaly_type.replaceAll('_', ' ')}`,
        text: `The skill ${plainText(anomaly.skill_name)} looks unusual (${anomaly.anomaly_type.replaceAll('_', ' ')}): ${anomaly.observed_value} against a baseline of ${anomaly.baseline_value} (z = ${anomaly.deviation_score}).`,
        data: { ...anomaly },
      }).catch((error: unknown) =>
        this.logger.warn(
          `skill anomaly alert for ${anomaly.skill_name.slice(0, 40)} not stored: ${(error as Error).message}`,
        ),
      );
    }
  }

  /**
   * Stores the alert if nobody has yet; the instance that did sends it (unless `announce` is
   * false: stored, so it is never raised again, but neither sent nor shown live).
   */
  private async raise(raised: Raise, { announce = true } = {}): Promise<void> {
    const alert = fitted(raised);
    // Checks overlap (the timer, a stats read): one claim per key at a time in this process.
    if (this.claiming.has(alert.key)) return;
    this.claiming.add(alert.key);
    let stored;
    try {
      stored = await this.store.claim(
        { ...alert, createdAt: this.now() },
        announce ? this.webhooks.targets() : [],
      );
    } finally {
      this.claiming.delete(alert.key);
    }
    if (!stored || !announce) return;
    const dto = toDto(stored);
    this.raised.inc({ type: dto.type });
    this.logger.log(`alert ${dto.key}: ${dto.title}`);
    const event: AlertRaisedEvent = { alert: dto };
    this.events.emit(ALERT_RAISED, event);
    this.webhooks.send(dto);
  }

  private async prune(): Promise<void> {
    await this.store.prune(this.now() - this.config.events.retentionDays * DAY_MS);
  }
}

/** What an alert's key and title hold at most (their columns: VARCHAR(200)). */
export const ALERT_KEY_MAX = 200;
export const ALERT_TITLE_MAX = 200;

/**
 * An alert whose key and title fit their columns: a longer key (a long skill name in it) keeps its
 * start and ends in its digest — still one key per alert —, a longer title ends in "…". The text
 * and the data keep everything.
 */
export function fitted(alert: Raise): Raise {
  const key =
    alert.key.length <= ALERT_KEY_MAX
      ? alert.key
      : `${alert.key.slice(0, ALERT_KEY_MAX - 65)}#${sha256Hex(alert.key)}`;
  const title =
    alert.title.length <= ALERT_TITLE_MAX
      ? alert.title
      : `${alert.title.slice(0, ALERT_TITLE_MAX - 1)}…`;
  return key === alert.key && title === alert.title ? alert : { ...alert, key, title };
}
