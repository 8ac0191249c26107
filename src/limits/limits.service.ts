import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { PeriodicJobs } from '../cluster/periodic-jobs';
import { AppConfig } from '../config/app-config';
import { BridgeClient } from '../bridge/bridge-client';
import { BridgeSupervisor } from '../bridge/bridge-supervisor';
import { CLOCK, type Clock } from '../common/clock';
import { HOOK_EVENT_STORED, type HookEventStoredEvent } from '../events/hook-event.events';
import { UsageService } from '../usage/usage.service';
import type {
  LimitWindowDto,
  LimitsDto,
  StatuslineInputDto,
  WindowUsageDto,
} from './dto/limits.dto';
import {
  type LimitAgent,
  LIMIT_WINDOWS,
  type LimitObservation,
  type LimitWindow,
} from './limit-observation.entity';
import {
  LIMIT_REACHED,
  LIMITS_OBSERVED,
  type LimitReachedEvent,
  type LimitsObservedEvent,
} from './limits.events';
import { type Calibration, calibrate, project, WINDOW_MS } from './limits.math';
import { MemberFigures } from './member-figures';
import { LimitsStore } from './limits.store';
import { DomainEvents, OnDomainEvent } from '../common/domain-events';

/** The single user's figures, until members exist. */
export const LOCAL_MEMBER = 'local';
/** Observations a calibration rests on at most (the newest), and how far back they may lie. */
const CALIBRATION_POINTS = 40;
const CALIBRATION_DAYS = 28;
const DAY_MS = 86_400_000;
/** Changes of one window listed at most (a window sees a few dozen in practice). */
const HISTORY_POINTS = 500;
/** How often this machine's Codex windows are read from the bridge (a small answer). */
const AGENT_LIMITS_EVERY_MS = 5_000;
/** Codex's windows by their length (minutes). */
const CODEX_WINDOWS: Record<number, LimitWindow> = { 300: 'five_hour', 10080: 'seven_day' };

/** Another agent's official window as a push carries it (PushedLimitDto). */
export interface PushedLimit {
  readonly agent: 'codex';
  readonly window: LimitWindow;
  readonly used_percentage: number;
  /** Epoch seconds. */
  readonly resets_at: number;
  /** Epoch ms: when the agent reported it. */
  readonly observed_at: number;
}

/** One limit of the bridge's `GET /usage/agent-limits` (Codex's `RateLimitSnapshot`). */
interface AgentLimitSnapshot {
  readonly limit_id: string;
  readonly observed_at: string;
  readonly primary: AgentLimitWindow | null;
  readonly secondary: AgentLimitWindow | null;
}
interface AgentLimitWindow {
  readonly used_percent: number;
  readonly window_minutes: number | null;
  /** Epoch seconds. */
  readonly resets_at: number | null;
}

/**
 * Claude Code's official 5-hour and 7-day limits (docs/design.md §8): recorded from what the status line
 * forwards, set beside our own log-based usage in the same window, calibrated (our tokens and USD
 * per official percent) and projected to the window's end. A StopFailure hook on a rate limit is
 * recorded as the limit reached.
 */
@Injectable()
export class LimitsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(LimitsService.name);
  private readonly calibrations = new Map<string, { key: number; value: Calibration | null }>();

  constructor(
    private readonly store: LimitsStore,
    private readonly bridge: BridgeClient,
    private readonly supervisor: BridgeSupervisor,
    private readonly usage: UsageService,
    private readonly events: DomainEvents,
    private readonly jobs: PeriodicJobs,
    private readonly config: AppConfig,
    private readonly memberFigures: MemberFigures,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /** The history is kept as long as events (EVENT_RETENTION_DAYS), pruned hourly; Codex's
   * official windows are read from this machine's rollouts every 5 s — through the bridge the
   * gateway spawned (an external bridge may read another machine's; members push theirs). */
  onApplicationBootstrap(): void {
    if (this.config.bridge.mode === 'spawn')
      this.jobs.every('agent-limits', AGENT_LIMITS_EVERY_MS, () => this.observeAgents(), {
        cluster: true,
        runAtStart: true,
      });
    const days = this.config.events.retentionDays;
    if (days === 0) return;
    this.jobs.every('limits-prune', 3_600_000, () => this.store.prune(this.now() - days * DAY_MS), {
      cluster: true,
      runAtStart: true,
    });
  }

  /**
   * Records the official figures a status line forwarded; announces the ones that changed.
   * Returns each window's latest row as it now stands (the status line shows them).
   */
  async observe(
    member: string,
    input: StatuslineInputDto,
  ): Promise<Partial<Record<LimitWindow, LimitObservation>>> {
    const at = this.now();
    const latest: Partial<Record<LimitWindow, LimitObservation>> = {};
    for (const window of LIMIT_WINDOWS) {
      const figure = input.rate_limits?.[window];
      if (!figure) continue;
      const { row, changed } = await this.store.record(
        member,
        { window, percent: figure.used_percentage, resetsAt: figure.resets_at * 1000 },
        at,
        input.session_id ?? null,
      );
      latest[window] = row;
      if (!changed) continue;
      const event: LimitsObservedEvent = {
        member,
        agent: 'claude',
        window,
        percent: figure.used_percentage,
        resetsAt: figure.resets_at * 1000,
        at,
      };
      this.events.emit(LIMITS_OBSERVED, event);
    }
    return latest;
  }

  /**
   * Codex's official windows as this machine's rollouts last reported them (the bridge's
   * `/usage/agent-limits`), recorded for the single user like Claude Code's; announces changes.
   * Its `primary` (300 minutes) is the 5-hour window, its `secondary` (10,080) the weekly one.
   */
  async observeAgents(): Promise<void> {
    // Only a running bridge is asked (a starting or restarting one would count as failures).
    if (!this.supervisor.getStatus().isReady) return;
    let snapshots: AgentLimitSnapshot[];
    try {
      snapshots = (await this.bridge.get<{ codex: AgentLimitSnapshot[] }>('/usage/agent-limits'))
        .data.codex;
    } catch (error) {
      this.logger.debug(`agent limits unavailable: ${(error as Error).message}`);
      return;
    }
    for (const snapshot of snapshots) {
      const at = Date.parse(snapshot.observed_at);
      for (const part of [snapshot.primary, snapshot.secondary]) {
        const window = part ? CODEX_WINDOWS[part.window_minutes ?? -1] : undefined;
        if (!part || !window || part.resets_at === null || !Number.isFinite(at)) continue;
        const percent = Math.min(100, Math.max(0, part.used_percent));
        const figure = {
          agent: 'codex' as const,
          window,
          percent,
          resetsAt: part.resets_at * 1000,
        };
        const { changed } = await this.store.record(LOCAL_MEMBER, figure, at, null);
        if (!changed) continue;
        const event: LimitsObservedEvent = {
          member: LOCAL_MEMBER,
          agent: 'codex',
          window,
          percent,
          resetsAt: figure.resetsAt,
          at,
        };
        this.events.emit(LIMITS_OBSERVED, event);
      }
    }
  }

  /**
   * Another agent's official figures a member's push brought (Codex's, from its machine's
   * rollouts): recorded as the local ones are; changes announced.
   */
  async observePushed(member: string, figures: readonly PushedLimit[]): Promise<void> {
    for (const pushed of figures) {
      const figure = {
        agent: pushed.agent,
        window: pushed.window,
        percent: pushed.used_percentage,
        resetsAt: pushed.resets_at * 1000,
      };
      const { changed } = await this.store.record(member, figure, pushed.observed_at, null);
      if (!changed) continue;
      const event: LimitsObservedEvent = {
        member,
        agent: pushed.agent,
        window: pushed.window,
        percent: figure.percent,
        resetsAt: figure.resetsAt,
        at: pushed.observed_at,
      };
      this.events.emit(LIMITS_OBSERVED, event);
    }
  }

  /**
   * The latest official figures that still describe a running window (the status line). `known`:
   * rows already at hand (just recorded), not read again.
   */
  async official(
    member: string,
    known: Partial<Record<LimitWindow, LimitObservation>> = {},
  ): Promise<Partial<Record<LimitWindow, LimitObservation>>> {
    const now = this.now();
    const result: Partial<Record<LimitWindow, LimitObservation>> = {};
    for (const window of LIMIT_WINDOWS) {
      const row = known[window] ?? (await this.store.latest(member, window));
      if (row && this.current(row, window, now)) result[window] = row;
    }
    return result;
  }

  /** Every member's official figures of an agent that still describe a running window (team
   * summary). */
  async officialOfAll(
    agent: LimitAgent = 'claude',
  ): Promise<Map<string, Partial<Record<LimitWindow, LimitObservation>>>> {
    const now = this.now();
    const result = new Map<string, Partial<Record<LimitWindow, LimitObservation>>>();
    for (const row of await this.store.latestOfAll(agent)) {
      const window = row.kind as LimitWindow;
      if (!this.current(row, window, now)) continue;
      const figures = result.get(row.member) ?? {};
      figures[window] = row;
      result.set(row.member, figures);
    }
    return result;
  }

  /** Whether a figure still describes a window that is running now. */
  private current(row: LimitObservation, window: LimitWindow, now: number): boolean {
    return (row.resetsAt ?? 0) > now && now - row.seenAt < WINDOW_MS[window];
  }

  async limits(member = LOCAL_MEMBER): Promise<LimitsDto> {
    const now = this.now();
    const costPerHour = await this.burnRate(member);
    const windows: LimitWindowDto[] = [];
    for (const window of LIMIT_WINDOWS)
      windows.push(await this.window(member, window, now, costPerHour, 'claude'));
    // Codex's windows once it has reported any (its projection has no burn rate of ours: Claude
    // Code's block is not Codex's).
    for (const window of LIMIT_WINDOWS)
      if (await this.store.latest(member, window, 'codex'))
        windows.push(await this.window(member, window, now, 0, 'codex'));
    const reached = await this.store.latest(member, 'reached');
    return {
      member,
      windows,
      last_limit_reached: reached
        ? { at: new Date(reached.observedAt).toISOString(), session_id: reached.sessionId }
        : null,
      generated_at: new Date(now).toISOString(),
    };
  }

  private async window(
    member: string,
    window: LimitWindow,
    now: number,
    costPerHour: number,
    agent: LimitAgent,
  ): Promise<LimitWindowDto> {
    const row = await this.store.latest(member, window, agent);
    const empty = {
      agent,
      window,
      window_start: null,
      window_end: null,
      ours: null,
      calibration: null,
      projection: null,
      history: [],
    };
    if (!row || row.usedPercentage === null || row.resetsAt === null)
      return { ...empty, official: null, missing: 'never_seen' };
    if (!this.current(row, window, now)) return { ...empty, official: null, missing: 'expired' };
    const start = row.resetsAt - WINDOW_MS[window];
    const [ours, sinceSeen] = (await this.sums(
      [
        [start, Math.max(start, now)],
        [Math.min(row.seenAt, now), now],
      ],
      member,
      agent,
    )) ?? [null, null];
    const calibration = await this.calibration(member, window, row, agent);
    const inWindow = (
      await this.store.history(member, window, start, HISTORY_POINTS, agent)
    ).filter((r) => r.resetsAt === row.resetsAt && r.usedPercentage !== null);
    const earlier = inWindow.find((r) => r.id !== row.id);
    return {
      agent,
      window,
      official: {
        used_percentage: row.usedPercentage,
        resets_at: new Date(row.resetsAt).toISOString(),
        seen_at: new Date(row.seenAt).toISOString(),
        age_seconds: Math.max(0, Math.round((now - row.seenAt) / 1000)),
      },
      missing: null,
      window_start: new Date(start).toISOString(),
      window_end: new Date(row.resetsAt).toISOString(),
      ours,
      calibration,
      projection: project({
        now,
        percent: row.usedPercentage,
        seenAt: row.seenAt,
        observedAt: row.observedAt,
        resetsAt: row.resetsAt,
        costSinceSeen: sinceSeen?.cost_usd ?? 0,
        calibration,
        costPerHour,
        earlier:
          earlier?.usedPercentage != null
            ? { percent: earlier.usedPercentage, at: earlier.observedAt }
            : undefined,
      }),
      history: inWindow.map((r) => ({
        at: new Date(r.observedAt).toISOString(),
        used_percentage: r.usedPercentage as number,
      })),
    };
  }

  /**
   * Tokens and USD per official percent for this member and window kind, from its last
   * observations: what our logs held in each one's window up to the moment it was reported.
   * Worked out again when a new figure arrives.
   */
  private async calibration(
    member: string,
    window: LimitWindow,
    latest: LimitObservation,
    agent: LimitAgent,
  ): Promise<Calibration | null> {
    const key = `${member}|${agent}|${window}`;
    const memo = this.calibrations.get(key);
    if (memo?.key === latest.id) return memo.value;
    const since = this.now() - CALIBRATION_DAYS * DAY_MS;
    const rows = (await this.store.history(member, window, since, 1000, agent))
      .filter((r) => (r.usedPercentage ?? 0) >= 1 && r.resetsAt !== null)
      .slice(-CALIBRATION_POINTS);
    if (rows.length === 0) return null;
    const sums = await this.sums(
      rows.map(
        (r) => [(r.resetsAt as number) - WINDOW_MS[window], r.observedAt] as [number, number],
      ),
      member,
      agent,
    );
    if (!sums) return memo?.value ?? null; // the bridge is away: the last one, if any
    const value = calibrate(
      rows.map((r, i) => ({
        percent: r.usedPercentage as number,
        tokens: sums[i].total_tokens,
        usd: sums[i].cost_usd,
      })),
    );
    this.calibrations.set(key, { key: latest.id, value });
    return value;
  }

  /** Our usage inside each range, from the bridge; null when it cannot be asked now. */
  private async sums(
    ranges: Array<[number, number]>,
    member: string,
    agent: LimitAgent = 'claude',
  ): Promise<WindowUsageDto[] | null> {
    // A team member's usage is its ledger rows, wherever they came from; the single user's is the
    // bridge's (this machine's logs).
    if (member !== LOCAL_MEMBER) return this.memberFigures.windows(member, ranges, agent);
    try {
      const { data } = await this.bridge.get<{ windows: WindowUsageDto[] }>('/usage/window', {
        ranges: ranges
          .map(([a, b]) => `${Math.floor(a)}-${Math.max(Math.floor(a), Math.floor(b))}`)
          .join(','),
        agent,
      });
      return data.windows;
    } catch (error) {
      this.logger.debug(`window usage unavailable: ${(error as Error).message}`);
      return null;
    }
  }

  /** Our current burn rate (USD per hour) from the active block, 0 without one. */
  private async burnRate(member: string): Promise<number> {
    if (member !== LOCAL_MEMBER)
      return (
        (await this.memberFigures.figures(member, undefined)).payload.burn_rate?.cost_per_hour ?? 0
      );
    try {
      const { payload } = await this.usage.statsForPush({}, 300);
      return payload.current_session?.is_active ? (payload.burn_rate?.cost_per_hour ?? 0) : 0;
    } catch {
      return 0;
    }
  }

  /** A StopFailure on a rate limit: the limit was reached (recorded by the instance that stored it). */
  @OnDomainEvent(HOOK_EVENT_STORED)
  async onHookEvent({ event, remote }: HookEventStoredEvent): Promise<void> {
    if (remote || event.hook_event_type !== 'StopFailure') return;
    const payload = event.payload as { error?: unknown; error_details?: unknown };
    if (payload.error !== 'rate_limit') return;
    try {
      const row = await this.store.reached(LOCAL_MEMBER, event.timestamp, event.session_id || null);
      const reached: LimitReachedEvent = {
        member: LOCAL_MEMBER,
        at: row.observedAt,
        sessionId: row.sessionId,
        details:
          typeof payload.error_details === 'string' ? payload.error_details.slice(0, 200) : null,
      };
      this.events.emit(LIMIT_REACHED, reached);
    } catch (error) {
      this.logger.warn(`recording a reached limit failed: ${(error as Error).message}`);
    }
  }
}
