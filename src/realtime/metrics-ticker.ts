import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { SkillMetricsService } from '../events/skill-metrics/skill-metrics.service';
import { RealtimeMetrics } from './realtime-metrics';
import { envelope } from './realtime.protocol';
import { METRICS_ROOM, SKILL_ROOM_PREFIX } from './rooms';
import { SocketServerRef } from './socket-server.ref';
import { StreamServer } from './stream-server';

/**
 * Every WS_METRICS_INTERVAL_MS, `metrics_update` to this instance's metrics subscribers: the top
 * 10 and all anomalies to `metrics`, one skill's row to each `skill:<name>` room. Nothing is
 * computed or sent when nobody listens. Each instance ticks for its own sockets only (`local`),
 * so several instances never double a tick.
 */
@Injectable()
export class MetricsTicker implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly ref: SocketServerRef,
    private readonly stream: StreamServer,
    private readonly skills: SkillMetricsService,
    private readonly metrics: RealtimeMetrics,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), this.config.realtime.metricsIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  tick(): void {
    const server = this.ref.server;
    const rooms = new Set(this.stream.roomsWithMembers());
    if (server)
      for (const [room, members] of server.of('/').adapter.rooms) if (members.size) rooms.add(room);
    for (const room of rooms) {
      let snapshot;
      if (room === METRICS_ROOM) snapshot = this.skills.snapshot();
      else if (room.startsWith(SKILL_ROOM_PREFIX))
        snapshot = this.skills.forSkill(room.slice(SKILL_ROOM_PREFIX.length));
      else continue;
      const message = envelope('metrics_update', snapshot, this.now());
      server?.local.to(room).emit('metrics_update', message);
      this.stream.publish([room], message);
      this.metrics.emittedOne('metrics_update');
    }
  }
}
