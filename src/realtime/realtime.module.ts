import { Module } from '@nestjs/common';
import { BridgeModule } from '../bridge/bridge.module';
import { EventsModule } from '../events/events.module';
import { UsageModule } from '../usage/usage.module';
import { ClusterCatchUp } from './cluster-catch-up';
import { ClientCatchUp } from './client-catch-up';
import { ClientSessions } from './client-session';
import { CredentialExpiry } from './credential-expiry';
import { EventReplay } from './event-replay';
import { MetricsTicker } from './metrics-ticker';
import { RealtimeBroadcaster } from './realtime-broadcaster';
import { RealtimeMetrics } from './realtime-metrics';
import { RealtimeStatsController } from './realtime-stats.controller';
import { RealtimeGateway } from './realtime.gateway';
import { RealtimeIoAdapter } from './realtime-io.adapter';
import { SocketServerRef } from './socket-server.ref';
import { StreamServer } from './stream-server';

/** Live dashboards: the Socket.IO gateway, its broadcasts, replay and stats. */
@Module({
  imports: [EventsModule, UsageModule, BridgeModule],
  controllers: [RealtimeStatsController],
  providers: [
    SocketServerRef,
    RealtimeGateway,
    RealtimeBroadcaster,
    EventReplay,
    ClientCatchUp,
    ClusterCatchUp,
    ClientSessions,
    CredentialExpiry,
    MetricsTicker,
    RealtimeMetrics,
    StreamServer,
    RealtimeIoAdapter,
  ],
})
export class RealtimeModule {}
