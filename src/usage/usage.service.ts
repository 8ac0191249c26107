import { Inject, Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { BridgeRequestError, BridgeUnavailableError } from '../bridge/bridge-call.error';
import { BridgeClient, type QueryParams } from '../bridge/bridge-client';
import { CLOCK, type Clock } from '../common/clock';
import { settledWithin } from '../common/deadline';
import { DomainEvents } from '../common/domain-events';
import { sha256Hex } from '../common/sha256-hex';
import { AppConfig } from '../config/app-config';
import {
  defaultClaudeSession,
  defaultReport,
  defaultSessions,
  defaultStats,
} from './default-payloads';
import type { ClaudeSessionUsage } from './dto/statusline.dto';
import type { SessionBlockDto, UsageSessionsDto, UsageStatsDto } from './dto/usage-payload.dto';
import type { UsageSessionsQueryDto, UsageStatsQueryDto } from './dto/usage-query.dto';
import type { ReportKind, UsageReportDto, UsageReportQueryDto } from './dto/usage-report.dto';
import { localDay } from './local-day';
import { SnapshotStore } from './snapshot.store';
import { UsageCache } from './usage-cache';
import { UsageConfigService } from './usage-config.service';
import {
  paramsKey,
  type RawQuery,
  reportParams,
  sessionsParams,
  type Sourced,
  statsParams,
} from './usage-params';
import type { SnapshotKind } from './usage-snapshot.entity';
import { USAGE_UPDATED_EVENT, type UsageUpdatedEvent } from './usage.events';

/** Parameter sets whose last payload hash is remembered for change detection. */
export const CHANGE_DETECTION_MAX_KEYS = 10_000;

function hashOf(payload: unknown): string {
  return sha256Hex(JSON.stringify(payload));
}

/**
 * Usage reads through the bridge with a cache in front and snapshots behind, never waiting out a
 * slow bridge (the best fallback instead); a changed answer is announced (usage.updated). The
 * usage config is UsageConfigService's; the parameters and sources are usage-params.ts.
 */
@Injectable()
export class UsageService {
  private readonly logger = new Logger(UsageService.name);
  /** Hash of the last payload announced per kind and parameters (bounded: callers pick keys). */
  private readonly lastHash = new LRUCache<string, string>({ max: CHANGE_DETECTION_MAX_KEYS });
  private todayRead: Promise<void> | undefined;
  private readonly readDeadlineMs: number;

  constructor(
    private readonly client: BridgeClient,
    private readonly cache: UsageCache,
    private readonly snapshots: SnapshotStore,
    private readonly usageConfig: UsageConfigService,
    private readonly events: DomainEvents,
    config: AppConfig,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.readDeadlineMs = config.usage.readDeadlineMs;
  }

  /** Whole seconds since `at`, by the injected clock (the cache's). */
  private ageOf(at: number): number {
    return Math.max(0, Math.round((this.now() - at) / 1000));
  }

  // -- reads -------------------------------------------------------------------------------

  /** The parameters a stats call really uses: the request's, else the stored config's. */
  async statsParams(query: RawQuery): Promise<QueryParams> {
    return statsParams(query, await this.usageConfig.current());
  }

  /** The parameters a report call really uses (usage-params.ts), with the stored config. */
  async reportParams(kind: ReportKind, query: RawQuery): Promise<QueryParams> {
    return reportParams(kind, query, await this.usageConfig.current());
  }

  async report(kind: ReportKind, query: UsageReportQueryDto): Promise<Sourced<UsageReportDto>> {
    const params = await this.reportParams(kind, { ...query });
    return this.read<UsageReportDto>(`report:${kind}`, `/usage/reports/${kind}`, params);
  }

  /** Today's daily report parameters: the zone and reset hour in effect, since = until = today. */
  async todayParams(): Promise<QueryParams> {
    const base = await this.reportParams('daily', {});
    const today = localDay(this.now(), base.timezone as string, base.reset_hour as number);
    return { ...base, since: today, until: today };
  }

  /** Whether a daily report is today's with the settings in effect (what dashboards show). */
  async isTodayInEffect(params: QueryParams): Promise<boolean> {
    return paramsKey(params) === paramsKey(await this.todayParams());
  }

  /**
   * New usage: today's daily total is read again, and announced (usage.updated, kind
   * report:daily) when it changed — one read at a time, the next change starts another.
   */
  private refreshToday(): void {
    this.todayRead ??= (async () => {
      try {
        const params = await this.todayParams();
        const { data } = await this.client.get<UsageReportDto>('/usage/reports/daily', params);
        this.remember('report:daily', paramsKey(params), params, data);
      } catch (error) {
        this.logger.warn(`reading today's usage failed: ${(error as Error).message}`);
      }
    })().finally(() => (this.todayRead = undefined));
  }

  /** One Claude Code session's usage (its log and its subagents'), as the bridge keeps it. */
  async claudeSession(sessionId: string, fresh = false): Promise<Sourced<ClaudeSessionUsage>> {
    return this.read<ClaudeSessionUsage>(
      'claude-session',
      '/usage/claude-session',
      { session_id: sessionId },
      fresh,
    );
  }

  async stats(query: UsageStatsQueryDto): Promise<Sourced<UsageStatsDto>> {
    return this.read<UsageStatsDto>('stats', '/usage/stats', await this.statsParams({ ...query }));
  }

  async sessions(query: UsageSessionsQueryDto): Promise<Sourced<UsageSessionsDto>> {
    return this.read<UsageSessionsDto>('sessions', '/usage/sessions', sessionsParams({ ...query }));
  }

  /**
   * Cache, else the bridge — but never longer than USAGE_READ_DEADLINE_MS: a hung or slow bridge
   * gets the best fallback (the last answer for these parameters however old, else the stored
   * ones) while its call goes on in the background and refreshes the cache when it lands.
   */
  async read<T>(
    kind: SnapshotKind,
    route: string,
    params: QueryParams,
    fresh = false,
  ): Promise<Sourced<T>> {
    const key = paramsKey(params);
    const cacheKey = `${kind}|${key}`;
    const pending = this.cache.get(
      cacheKey,
      async () => {
        const { data } = await this.client.get<T>(route, params);
        this.remember(kind, key, params, data);
        return data;
      },
      fresh,
    );
    const cached = await settledWithin(pending, this.readDeadlineMs);
    if (cached)
      return cached.hit
        ? { payload: cached.value, source: 'cache', ageSeconds: this.ageOf(cached.at) }
        : { payload: cached.value, source: 'bridge', ageSeconds: null };
    pending.catch((error: unknown) =>
      this.logger.warn(`background usage refresh failed: ${(error as Error).message}`),
    );
    const last = this.cache.peek<T>(cacheKey);
    if (last) return { payload: last.value, source: 'cache', ageSeconds: this.ageOf(last.at) };
    return (await this.fallback(kind, params)) as Sourced<T>;
  }

  /** Stores a fresh bridge payload (after the reply) and announces it when it changed. */
  private remember(kind: SnapshotKind, key: string, params: QueryParams, data: unknown): void {
    const hash = hashOf(data);
    this.snapshots.record(kind, key, data, hash);
    const id = `${kind}|${key}`;
    if (this.lastHash.get(id) === hash) return;
    this.lastHash.set(id, hash);
    const event: UsageUpdatedEvent = { kind, params, payload: data, timestamp: this.now() };
    this.events.emit(USAGE_UPDATED_EVENT, event);
    // New usage shows as a change of the stats dashboards read (the settings in effect): then
    // today's total is read again. A read with other parameters (a distinct custom limit, say)
    // is no news of usage, and must not cost a daily report each.
    if (kind === 'stats')
      void this.isInEffect(params).then(
        (inEffect) => inEffect && this.refreshToday(),
        () => undefined,
      );
  }

  /**
   * Stats for a push to dashboards (socket `initial`, `usage_update`): the bridge's answer if it
   * comes within `waitMs`, else the best fallback — a socket never waits out the bridge's retries.
   */
  async statsForPush(query: RawQuery = {}, waitMs = 300): Promise<Sourced<UsageStatsDto>> {
    const live = this.stats(query as UsageStatsQueryDto).catch((error: unknown) => {
      if (error instanceof BridgeUnavailableError || error instanceof BridgeRequestError)
        return undefined;
      throw error;
    });
    const result = await settledWithin(live, waitMs);
    if (result) return result;
    return (await this.fallback('stats', query)) as Sourced<UsageStatsDto>;
  }

  /** Whether a stats payload was made with the parameters in effect (the stored config's). */
  async isInEffect(params: QueryParams): Promise<boolean> {
    return paramsKey(params) === paramsKey(await this.statsParams({}));
  }

  /**
   * The truest answer without the bridge: a fresh cache entry, else the latest stored snapshot
   * (stats) or the stored blocks (sessions), else a well-formed payload of zeros.
   */
  async fallback(kind: SnapshotKind, rawQuery: RawQuery): Promise<Sourced<unknown>> {
    const { params: paramsOf, empty } = this.readKind(kind);
    const params = await paramsOf(rawQuery);
    const key = paramsKey(params);
    const fresh = this.cache.fresh(`${kind}|${key}`);
    if (fresh) return { payload: fresh.value, source: 'cache', ageSeconds: this.ageOf(fresh.at) };
    try {
      if (kind !== 'sessions') {
        const snapshot = await this.snapshots.latest(kind, key);
        if (snapshot)
          return {
            payload: snapshot.payload,
            source: 'snapshot',
            ageSeconds: this.ageOf(snapshot.createdAt),
          };
      } else {
        const stored = await this.storedSessions(params);
        if (stored) return stored;
      }
    } catch (error) {
      this.logger.warn(`fallback read failed: ${(error as Error).message}`);
    }
    return { payload: empty(params), source: 'default', ageSeconds: 0 };
  }

  /** Per kind of read: the parameters it really uses, and its answer when nothing is known. */
  private readKind(kind: SnapshotKind): {
    params: (query: RawQuery) => QueryParams | Promise<QueryParams>;
    empty: (params: QueryParams) => unknown;
  } {
    if (kind.startsWith('report:')) {
      const report = kind.slice('report:'.length) as ReportKind;
      return {
        params: (q) => this.reportParams(report, q),
        empty: (p) => defaultReport(report, p),
      };
    }
    if (kind === 'stats') return { params: (q) => this.statsParams(q), empty: defaultStats };
    if (kind === 'claude-session')
      return {
        params: (q) => ({ session_id: q.session_id as string }),
        empty: defaultClaudeSession,
      };
    return { params: (q) => sessionsParams(q), empty: defaultSessions };
  }

  /** Blocks from the newest stored payloads, filtered as the bridge would. */
  private async storedSessions(
    params: QueryParams,
  ): Promise<Sourced<UsageSessionsDto> | undefined> {
    const recent = [
      ...(await this.snapshots.list({ kind: 'sessions', limit: 5 })),
      ...(await this.snapshots.list({ kind: 'stats', limit: 5 })),
    ];
    if (recent.length === 0) return undefined;
    const blocks = new Map<string, SessionBlockDto>();
    let newest = 0;
    // Oldest first, so a newer copy of a block replaces an older one.
    for (const snap of recent.sort((a, b) => a.createdAt - b.createdAt)) {
      newest = Math.max(newest, snap.createdAt);
      const payload = snap.payload as Partial<UsageSessionsDto & UsageStatsDto>;
      for (const block of [...(payload.sessions ?? []), ...(payload.recent_sessions ?? [])]) {
        if (block && typeof block.id === 'string') blocks.set(block.id, block);
      }
    }
    const hoursBack = Number(params.hours_back);
    const limit = Number(params.limit);
    const since = this.now() - hoursBack * 3_600_000;
    let chosen = [...blocks.values()]
      .filter((b) => Date.parse(b.actual_end_time ?? b.end_time) >= since)
      .sort((a, b) => a.start_time.localeCompare(b.start_time));
    if (params.session_id) chosen = chosen.filter((b) => b.id === params.session_id);
    const payload: UsageSessionsDto = {
      sessions: chosen.slice(-limit),
      total_count: chosen.length,
      hours_back: hoursBack,
      limit,
      session_id: (params.session_id as string | undefined) ?? null,
    };
    return { payload, source: 'database', ageSeconds: this.ageOf(newest) };
  }
}
