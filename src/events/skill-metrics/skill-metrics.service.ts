import { CLOCK, type Clock } from '../../common/clock';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, MoreThan, MoreThanOrEqual, type Repository } from 'typeorm';
import { HookEventDto } from '../dto/hook-event.dto';
import { HookEvent } from '../hook-event.entity';
import { HOOK_EVENT_STORED, type HookEventStoredEvent } from '../hook-event.events';
import {
  ABANDON_AFTER_MS,
  type Anomaly,
  RETAIN_HOURS,
  type SkillRow,
  SkillMetricsTracker,
} from './skill-metrics.tracker';
import { OnDomainEvent } from '../../common/domain-events';

export const METRICS_WINDOWS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 604_800_000 } as const;
export type MetricsWindow = keyof typeof METRICS_WINDOWS;

export interface SkillMetricsSnapshot {
  readonly top_skills: SkillRow[];
  readonly anomalies: Anomaly[];
}

const TOOL_EVENTS = ['PreToolUse', 'PostToolUse', 'PostToolUseFailure'];
const REBUILD_PAGE = 2000;
const SWEEP_EVERY_MS = 30_000;

/**
 * Skill metrics (docs/design.md §5 `metrics_update`): rebuilt once from the stored tool events of the
 * last 7 days at boot, then kept current from each stored event.
 */
@Injectable()
export class SkillMetricsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SkillMetricsService.name);
  private readonly tracker: SkillMetricsTracker;
  private sweeper: NodeJS.Timeout | undefined;
  /** Events that arrive while the rebuild reads the database, applied after it (by id). */
  private backlog: HookEventDto[] | undefined = [];
  private rebuiltUpTo = 0;

  constructor(
    @InjectRepository(HookEvent) private readonly events: Repository<HookEvent>,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.tracker = new SkillMetricsTracker(now);
  }

  async onApplicationBootstrap(): Promise<void> {
    const since = this.now() - RETAIN_HOURS * 3_600_000 - ABANDON_AFTER_MS;
    const repo = this.events;
    let afterId = 0;
    let count = 0;
    for (;;) {
      const rows = await repo.find({
        where: {
          id: MoreThan(afterId),
          hookEventType: In(TOOL_EVENTS),
          timestamp: MoreThanOrEqual(since),
        },
        order: { id: 'ASC' },
        take: REBUILD_PAGE,
      });
      for (const row of rows) this.tracker.ingest(HookEventDto.from(row));
      count += rows.length;
      if (rows.length < REBUILD_PAGE) break;
      afterId = rows[rows.length - 1].id;
    }
    this.rebuiltUpTo = afterId;
    const backlog = this.backlog ?? [];
    this.backlog = undefined;
    for (const event of backlog) this.tracker.ingest(event);
    this.tracker.sweep();
    this.sweeper = setInterval(() => this.tracker.sweep(), SWEEP_EVERY_MS);
    this.sweeper.unref();
    this.logger.log(`skill metrics rebuilt from ${count} stored tool events`);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  @OnDomainEvent(HOOK_EVENT_STORED)
  onStored({ event }: HookEventStoredEvent): void {
    if (this.backlog) this.backlog.push(event);
    else if (event.id > this.rebuiltUpTo) this.tracker.ingest(event);
  }

  snapshot(window: MetricsWindow = '24h', limit = 10): SkillMetricsSnapshot {
    this.tracker.sweep();
    return {
      top_skills: this.tracker.rows(METRICS_WINDOWS[window]).slice(0, limit),
      anomalies: this.tracker.anomalies(),
    };
  }

  /** One skill's row (even outside the top) and its anomalies. */
  forSkill(skill: string, window: MetricsWindow = '24h'): SkillMetricsSnapshot {
    this.tracker.sweep();
    const row = this.tracker.row(skill, METRICS_WINDOWS[window]);
    return {
      top_skills: row && row.total_invocations > 0 ? [row] : [],
      anomalies: this.tracker.anomalies(skill),
    };
  }
}
