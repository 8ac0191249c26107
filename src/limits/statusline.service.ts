import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { BridgeUnavailableError } from '../bridge/bridge-call.error';
import { CLOCK, type Clock } from '../common/clock';
import type { DailyReportDto } from '../usage/dto/usage-report.dto';
import type { UsageStatsDto } from '../usage/dto/usage-payload.dto';
import type { StatuslineDto, StatuslineOfficialWindowDto } from '../usage/dto/statusline.dto';
import type { SnapshotKind } from '../usage/usage-snapshot.entity';
import { type RawQuery, SOURCE_RANK, type Sourced } from '../usage/usage-params';
import { UsageService } from '../usage/usage.service';
import type { StatuslineInputDto } from './dto/limits.dto';
import type { LimitObservation } from './limit-observation.entity';
import { LimitsService, LOCAL_MEMBER } from './limits.service';
import { MemberFigures } from './member-figures';

/**
 * Claude Code's status line (docs/design.md §8): records the official figures it forwards, then answers
 * with our figures — the session, today's row, the block, the burn rate, the plan estimate, read
 * in parallel through the usage cache, each with its own fallback — and the official ones.
 */
@Injectable()
export class StatuslineService {
  /** Per Claude Code session: its tokens and cost last time (a change means a new message). */
  private readonly sessionMarks = new LRUCache<string, string>({ max: 1000 });

  constructor(
    private readonly usage: UsageService,
    private readonly limits: LimitsService,
    private readonly members: MemberFigures,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  async answer(
    member: string,
    sessionId: string | undefined,
    input?: StatuslineInputDto,
  ): Promise<Sourced<StatuslineDto>> {
    const recorded = input?.rate_limits ? await this.limits.observe(member, input) : {};
    // A team member's figures are its ledger rows; the single user's, this machine's logs.
    const [figures, official] = await Promise.all([
      member === LOCAL_MEMBER ? this.figures(sessionId) : this.members.figures(member, sessionId),
      this.limits.official(member, recorded),
    ]);
    const now = this.now();
    const window = (row: LimitObservation | undefined): StatuslineOfficialWindowDto | null =>
      row && row.usedPercentage !== null && row.resetsAt !== null
        ? {
            used_percentage: row.usedPercentage,
            resets_at: new Date(row.resetsAt).toISOString(),
            age_seconds: Math.max(0, Math.round((now - row.seenAt) / 1000)),
          }
        : null;
    return {
      ...figures,
      payload: {
        ...figures.payload,
        official: { five_hour: window(official.five_hour), seven_day: window(official.seven_day) },
      },
    };
  }

  /** Our figures; the answer's source is the least fresh part's. */
  private async figures(sessionId: string | undefined): Promise<Sourced<StatuslineDto>> {
    const today = await this.usage.todayParams();
    const orFallback = <T>(kind: SnapshotKind, query: RawQuery, read: Promise<Sourced<T>>) =>
      read.catch(async (error: unknown) => {
        if (!(error instanceof BridgeUnavailableError)) throw error;
        return (await this.usage.fallback(kind, query)) as Sourced<T>;
      });
    // The session first, from the bridge itself (which reads what was appended since its last
    // refresh before it answers): a status line is asked for right after each message. When the
    // session moved on, stats and today's row are read fresh too, so the new line counts at once.
    const session = sessionId
      ? await orFallback(
          'claude-session',
          { session_id: sessionId },
          this.usage.claudeSession(sessionId, true),
        )
      : undefined;
    let moved = false;
    if (sessionId && session && session.source === 'bridge') {
      const mark = `${session.payload.total_tokens}|${session.payload.cost_usd}`;
      moved = this.sessionMarks.get(sessionId) !== mark;
      this.sessionMarks.set(sessionId, mark);
    }
    const [stats, daily] = await Promise.all([
      orFallback(
        'stats',
        {},
        this.usage.read<UsageStatsDto>(
          'stats',
          '/usage/stats',
          await this.usage.statsParams({}),
          moved,
        ),
      ),
      orFallback(
        'report:daily',
        today,
        this.usage.read<DailyReportDto>('report:daily', '/usage/reports/daily', today, moved),
      ),
    ]);
    const parts = [stats, daily, ...(session ? [session] : [])];
    const worst = parts.reduce((a, b) => (SOURCE_RANK[b.source] > SOURCE_RANK[a.source] ? b : a));
    const ages = parts.map((p) => p.ageSeconds).filter((a): a is number => a !== null);
    const s = stats.payload;
    const block = s.current_session;
    const row = daily.payload.daily?.[0];
    const limits = (s.config_applied?.limits ?? {}) as { tokens?: number };
    const payload: StatuslineDto = {
      session: session
        ? {
            session_id: session.payload.session_id ?? sessionId!,
            found: session.payload.found ?? false,
            cost_usd: session.payload.cost_usd ?? 0,
            total_tokens: session.payload.total_tokens ?? 0,
          }
        : null,
      today: {
        date: String(today.since),
        timezone: String(today.timezone),
        cost_usd: row?.cost_usd ?? 0,
        total_tokens: row?.total_tokens ?? 0,
      },
      block: block
        ? {
            cost_usd: block.cost_usd,
            total_tokens: block.total_tokens,
            start_time: block.start_time,
            end_time: block.end_time,
            minutes_left: Math.max(
              0,
              Math.round((Date.parse(block.end_time) - this.now()) / 60_000),
            ),
          }
        : null,
      burn_rate: block?.burn_rate
        ? {
            tokens_per_minute: s.burn_rate.tokens_per_minute,
            cost_per_hour: s.burn_rate.cost_per_hour,
          }
        : null,
      limit: {
        plan: String(s.config_applied?.plan ?? 'pro'),
        tokens: Number(limits.tokens ?? 0),
        percentage: s.totals?.token_percentage ?? 0,
        tokens_run_out: s.predictions?.tokens_run_out ?? null,
      },
      official: { five_hour: null, seven_day: null },
      generated_at: new Date(this.now()).toISOString(),
    };
    return {
      payload,
      source: worst.source,
      ageSeconds: worst.source === 'bridge' ? null : Math.max(0, ...ages),
    };
  }
}
