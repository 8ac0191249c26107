import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { Counter, Gauge, Registry } from 'prom-client';
import { SocketServerRef } from './socket-server.ref';

/** Socket counts and traffic, for `/metrics` and `GET /api/realtime/stats`. */
@Injectable()
export class RealtimeMetrics {
  readonly startedAt: number;
  eventsEmitted = 0;
  private readonly connections: Gauge;
  private readonly emitted: Counter<'type'>;
  private readonly refused: Counter<'reason'>;
  private readonly replayed: Counter;
  private readonly replayWaits: Counter<'transport'>;

  constructor(
    registry: Registry,
    ref: SocketServerRef,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.startedAt = now();
    // Read when scraped: a count kept on connect/disconnect lagged (Socket.IO counts a leaving
    // client until after its disconnect handlers ran).
    this.connections = new Gauge({
      name: 'realtime_connections',
      help: 'Connected Socket.IO clients',
      registers: [registry],
      collect() {
        this.set(ref.server?.engine.clientsCount ?? 0);
      },
    });
    this.emitted = new Counter({
      name: 'realtime_events_emitted_total',
      help: 'Server events broadcast or sent, by type',
      labelNames: ['type'],
      registers: [registry],
    });
    this.refused = new Counter({
      name: 'realtime_refused_total',
      help: 'Refused connections and client messages, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.replayed = new Counter({
      name: 'realtime_replayed_events_total',
      help: 'Stored events replayed to reconnecting clients',
      registers: [registry],
    });
    this.replayWaits = new Counter({
      name: 'realtime_replay_waits_total',
      help: 'Times a replay waited for a slow client to take what was sent (back-pressure), by transport',
      labelNames: ['transport'],
      registers: [registry],
    });
  }

  emittedOne(type: string): void {
    this.eventsEmitted += 1;
    this.emitted.inc({ type });
  }

  refusedOne(reason: string): void {
    this.refused.inc({ reason });
  }

  replayedSome(count: number): void {
    this.replayed.inc(count);
  }

  replayWaited(transport: 'socket.io' | 'stream'): void {
    this.replayWaits.inc({ transport });
  }

  /** Seconds since this instance started (the injected clock). */
  uptimeSeconds(): number {
    return Math.round((this.now() - this.startedAt) / 1000);
  }
}
