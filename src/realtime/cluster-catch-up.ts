import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { CLOCK, type Clock } from '../common/clock';
import { EventsService } from '../events/events.service';
import { HOOK_EVENT_STORED, type HookEventStoredEvent } from '../events/hook-event.events';
import { RealtimeBroadcaster } from './realtime-broadcaster';
import { RecentIds } from './recent-ids';
import { SocketServerRef } from './socket-server.ref';
import { OnDomainEvent } from '../common/domain-events';

/** Events seen remembered (to skip them in a catch-up); more only while an outage is caught up. */
const RECENT = 2000;
/** A catch-up starts this far below the newest id seen (events in flight when Redis went). */
const MARGIN = 200;
/** Catch-up passes after Redis is back (ms): the adapters resume within these. */
export const CATCH_UP_PASSES_MS = [1000, 3000, 8000] as const;
const PAGE = 500;
/**
 * Events stored this recently are left to the adapter (it delivers fresh ones itself once it has
 * resumed); a later pass takes them if it did not. Fewer double deliveries at the outage's edge.
 */
const FRESH_MS = 1000;

/**
 * With several instances, a broadcast crosses to the others through Redis. While Redis is away
 * each instance serves its own clients, and the others' events do not reach them. When Redis is
 * back, each instance reads the events stored since the outage began (events have ids) and
 * delivers to its own clients those they have not been sent — so no connected client misses an
 * acknowledged event. Several passes: events posted between the return and the adapters'
 * resumption are caught as well.
 */
@Injectable()
export class ClusterCatchUp implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ClusterCatchUp.name);
  private readonly seen = new RecentIds(RECENT);
  private lastSeen = 0;
  private outageFrom: number | null = null;
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<void> | undefined;
  private readonly delivered: Counter;
  private readonly passes: Counter;

  constructor(
    private readonly ref: SocketServerRef,
    private readonly events: EventsService,
    private readonly broadcaster: RealtimeBroadcaster,
    registry: Registry,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.delivered = new Counter({
      name: 'realtime_catch_up_events_total',
      help: 'Events delivered to this instance’s clients after a Redis outage (they missed them)',
      registers: [registry],
    });
    this.passes = new Counter({
      name: 'realtime_catch_up_passes_total',
      help: 'Catch-up passes run after a Redis outage (three per outage: 1 s, 3 s and 8 s after it)',
      registers: [registry],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.lastSeen = await this.events.lastId().catch(() => 0);
    this.ref.watchCrossInstance(
      () => this.lost(),
      () => this.back(),
    );
  }

  onModuleDestroy(): void {
    for (const timer of this.timers) clearTimeout(timer);
  }

  @OnDomainEvent(HOOK_EVENT_STORED)
  saw({ event }: HookEventStoredEvent): void {
    this.remember(event.id);
  }

  private remember(id: number): void {
    this.seen.add(id);
    if (id > this.lastSeen) this.lastSeen = id;
  }

  private lost(): void {
    if (this.outageFrom !== null) return;
    this.outageFrom = Math.max(0, this.lastSeen - MARGIN);
    this.seen.hold(true);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }

  private back(): void {
    if (this.outageFrom === null) return;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = CATCH_UP_PASSES_MS.map((ms, i) => {
      const timer = setTimeout(() => {
        void this.pass(i === CATCH_UP_PASSES_MS.length - 1);
      }, ms);
      timer.unref();
      return timer;
    });
  }

  /** Delivers what this instance's clients missed since the outage began. */
  private pass(last: boolean): Promise<void> {
    this.running = (this.running ?? Promise.resolve()).then(async () => {
      const from = this.outageFrom;
      if (from === null) return;
      let caughtUp = 0;
      try {
        const upTo = await this.events.lastId();
        for (let after = from; after < upTo;) {
          const page = await this.events.between(after, upTo, PAGE);
          if (page.length === 0) break;
          // With Redis up, the adapter carries what was just stored (its relay marks it seen).
          const fresh = this.ref.crossInstance() ? this.now() - FRESH_MS : Number.POSITIVE_INFINITY;
          for (const event of page) {
            if (this.seen.has(event.id) || event.received_at > fresh) continue;
            this.broadcaster.deliverLocally(event);
            this.remember(event.id);
            caughtUp++;
          }
          after = (page.at(-1) as { id: number }).id;
        }
      } catch (error) {
        this.logger.warn(
          `catching clients up after the Redis outage failed: ${(error as Error).message}`,
        );
        return;
      }
      if (caughtUp) {
        this.delivered.inc(caughtUp);
        this.logger.log(
          `caught this instance's clients up on ${caughtUp} event(s) missed while Redis was away`,
        );
      }
      if (last && this.ref.crossInstance()) {
        this.outageFrom = null;
        this.seen.hold(false);
      }
      this.passes.inc();
    });
    return this.running;
  }
}
