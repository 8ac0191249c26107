import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { BRIDGE_STATUS_EVENT, type BridgeStatusEvent } from '../bridge/bridge-status.event';
import { ALERT_RAISED, type AlertRaisedEvent } from '../alerts/alert.events';
import { HOOK_EVENT_STORED, type HookEventStoredEvent } from '../events/hook-event.events';
import { USAGE_UPDATED_EVENT, type UsageUpdatedEvent } from '../usage/usage.events';
import type { DailyReportDto } from '../usage/dto/usage-report.dto';
import type { HookEventDto } from '../events/dto/hook-event.dto';
import {
  LIMIT_REACHED,
  LIMITS_OBSERVED,
  LIMITS_RELAYED,
  type LimitReachedEvent,
  type LimitsObservedEvent,
} from '../limits/limits.events';
import { UsageService } from '../usage/usage.service';
import { EventReplay } from './event-replay';
import { KeyedThrottle } from './keyed-throttle';
import { RealtimeMetrics } from './realtime-metrics';
import {
  envelope,
  liveMessage,
  type LimitsUpdateData,
  type ServerEnvelope,
  type UsageDailyData,
} from './realtime.protocol';
import { GLOBAL_ROOM, sessionRoom } from './rooms';
import { SocketServerRef } from './socket-server.ref';
import { StreamServer } from './stream-server';
import { OnDomainEvent } from '../common/domain-events';

/** Hook events after which a session's dashboards get fresh usage (docs/design.md §5). */
export const USAGE_TRIGGERS: ReadonlySet<string> = new Set([
  'PreToolUse',
  'PostToolUse',
  'Stop',
  'SubagentStop',
  'UserPromptSubmit',
]);
/** At most one triggered usage push per session in this window; triggers within it coalesce. */
export const USAGE_PUSH_INTERVAL_MS = 2000;

/**
 * Turns what the services announce (stored hook events, usage changes, bridge status) into
 * broadcasts to both transports (Socket.IO and /stream). Services never call into it.
 */
@Injectable()
export class RealtimeBroadcaster implements OnModuleDestroy {
  private readonly logger = new Logger(RealtimeBroadcaster.name);
  private readonly usagePushes = new KeyedThrottle(
    USAGE_PUSH_INTERVAL_MS,
    (sessionId) => void this.pushSessionUsage(sessionId),
  );

  constructor(
    private readonly ref: SocketServerRef,
    private readonly stream: StreamServer,
    private readonly replay: EventReplay,
    private readonly usage: UsageService,
    private readonly metrics: RealtimeMetrics,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  onModuleDestroy(): void {
    this.usagePushes.stop();
  }

  /**
   * A stored event goes to its rooms on every instance — a hook event to `global` and its
   * session, a domain event to its room as its own type —: Socket.IO clients through the adapter
   * (Redis across instances), /stream clients of other instances through a relay (`hook_event`),
   * which also keeps their replay cursors and skill metrics whole.
   */
  @OnDomainEvent(HOOK_EVENT_STORED)
  onHookEvent({ event, remote }: HookEventStoredEvent): void {
    const { name, rooms, message } = liveMessage(event);
    if (remote) this.stream.publish(rooms, message);
    else {
      this.emit(rooms, name, message, 'cluster');
      if (this.ref.clustered && this.ref.crossInstance())
        this.ref.server?.serverSideEmit('hook_event', event);
      if (
        !event.room &&
        USAGE_TRIGGERS.has(event.hook_event_type) &&
        this.mayBeListened(sessionRoom(event.session_id))
      )
        this.usagePushes.trigger(event.session_id);
    }
    this.replay.broadcasted(event);
  }

  /**
   * An event this instance's clients missed (it was broadcast while the instances could not reach
   * each other): to them only, as it would have arrived.
   */
  deliverLocally(event: HookEventDto): void {
    const { name, rooms, message } = liveMessage(event);
    this.emit(rooms, name, message, 'local');
    this.replay.broadcasted(event);
  }

  @OnDomainEvent(USAGE_UPDATED_EVENT)
  async onUsageUpdated(update: UsageUpdatedEvent): Promise<void> {
    if (update.kind === 'report:daily') return this.onTodayUpdated(update);
    if (update.kind !== 'stats' || !(await this.usage.isInEffect(update.params))) return;
    this.emit(
      [GLOBAL_ROOM],
      'usage_update',
      envelope('usage_update', { data: update.payload, source: 'bridge' as const }, this.now()),
      'local',
    );
  }

  /**
   * An alert this instance raised goes to every dashboard: Socket.IO clients of every instance
   * through the adapter, /stream clients of the others through a relay (`alert`).
   */
  @OnDomainEvent(ALERT_RAISED)
  onAlert({ alert, remote }: AlertRaisedEvent): void {
    const message = envelope('alert', alert, this.now());
    if (remote) return this.stream.publish([GLOBAL_ROOM], message);
    this.emit([GLOBAL_ROOM], 'alert', message, 'cluster');
    if (this.ref.clustered && this.ref.crossInstance())
      this.ref.server?.serverSideEmit('alert', alert);
  }

  /** An official limit figure changed (this instance recorded it): every dashboard hears it. */
  @OnDomainEvent(LIMITS_OBSERVED)
  onLimitsObserved(observed: LimitsObservedEvent): void {
    this.limits({
      member: observed.member,
      agent: observed.agent,
      window: observed.window,
      used_percentage: observed.percent,
      resets_at: new Date(observed.resetsAt).toISOString(),
      at: new Date(observed.at).toISOString(),
    });
  }

  @OnDomainEvent(LIMIT_REACHED)
  onLimitReached(reached: LimitReachedEvent): void {
    this.limits({
      member: reached.member,
      agent: 'claude',
      window: 'reached',
      used_percentage: null,
      resets_at: null,
      at: new Date(reached.at).toISOString(),
    });
  }

  /** Socket.IO clients of every instance through the adapter, /stream ones through a relay. */
  private limits(update: LimitsUpdateData): void {
    this.emit([GLOBAL_ROOM], 'limits', envelope('limits', update, this.now()), 'cluster');
    if (this.ref.clustered && this.ref.crossInstance())
      this.ref.server?.serverSideEmit('limits', update);
  }

  /** A `limits` update another instance recorded: for this instance's /stream clients. */
  @OnDomainEvent(LIMITS_RELAYED)
  relayedLimits(update: LimitsUpdateData): void {
    this.stream.publish([GLOBAL_ROOM], envelope('limits', update, this.now()));
  }

  /** Today's total changed (new usage): dashboards refresh the current day. */
  private async onTodayUpdated(update: UsageUpdatedEvent): Promise<void> {
    if (!(await this.usage.isTodayInEffect(update.params))) return;
    const report = update.payload as DailyReportDto;
    const data: UsageDailyData = {
      date: String(update.params.since),
      timezone: String(update.params.timezone),
      reset_hour: Number(update.params.reset_hour),
      day: report.daily?.[0] ?? null,
      source: 'bridge',
    };
    this.emit([GLOBAL_ROOM], 'usage_daily', envelope('usage_daily', data, this.now()), 'local');
  }

  @OnDomainEvent(BRIDGE_STATUS_EVENT)
  onBridgeStatus(status: BridgeStatusEvent): void {
    const { healthy, state, reason } = status;
    this.emit(
      [GLOBAL_ROOM],
      'bridge_status',
      envelope('bridge_status', { healthy, state, reason }, this.now()),
      'local',
    );
  }

  /**
   * Whether a room may have listeners: members here (either transport), or other instances that
   * this one cannot see into. A session nobody watches gets no usage push — at 5,000 sockets each
   * push (a usage read, its fallback) was work done beside the fan-out, in its tail.
   */
  private mayBeListened(room: string): boolean {
    if (this.ref.clustered) return true;
    const local = this.ref.server?.sockets.adapter.rooms.get(room)?.size ?? 0;
    return local > 0 || this.stream.hasMembers(room);
  }

  private async pushSessionUsage(sessionId: string): Promise<void> {
    try {
      const { payload, source } = await this.usage.statsForPush();
      this.emit(
        [sessionRoom(sessionId)],
        'usage_update',
        envelope('usage_update', { data: payload, source }, this.now(), { session_id: sessionId }),
        'cluster',
      );
    } catch (error) {
      this.logger.warn(`usage push for session ${sessionId} failed: ${(error as Error).message}`);
    }
  }

  /**
   * `cluster`: to these rooms on every instance (one event, announced once); `local`: to this
   * instance's clients only — for what each instance observes itself (its bridge, its cache), so
   * several instances never repeat it.
   */
  private emit(
    rooms: string[],
    type: string,
    message: ServerEnvelope<unknown>,
    scope: 'cluster' | 'local',
  ): void {
    const server = this.ref.server;
    if (server) {
      const local = scope === 'local' || !this.ref.crossInstance();
      const target = local ? server.local.to(rooms) : server.to(rooms);
      (target.emit as (event: string, message: unknown) => boolean)(type, message);
    }
    this.stream.publish(rooms, message);
    this.metrics.emittedOne(type);
  }
}
