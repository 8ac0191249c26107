import { TeamModule } from './team/team.module';
import { ProxyModule } from './proxy/proxy.module';
import { SilentConnectionsModule } from './common/silent-connections';
import { AlertsModule } from './alerts/alerts.module';
import { type DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { LoggingModule } from './common/logging.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { BridgeModule } from './bridge/bridge.module';
import { MetricsModule } from './metrics/metrics.module';
import { LimitsModule } from './limits/limits.module';
import { UsageModule } from './usage/usage.module';
import { EventsModule } from './events/events.module';
import { RealtimeModule } from './realtime/realtime.module';
import { BroadcastsModule } from './broadcasts/broadcasts.module';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { DomainEventsModule } from './common/domain-events.module';
import { AuthModule } from './auth/auth.module';
import { RedisModule } from './redis/redis.module';
import type { Clock } from './common/clock';
import { ClockModule } from './common/clock.module';
import { ClusterModule } from './cluster/cluster.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';

/** Wires the feature modules together; nothing else lives here. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, clock?: Clock): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        SilentConnectionsModule,
        ClockModule.forRoot(clock),
        RedisModule,
        // Guards run in this order: the rate limit first (a flood of bad credentials is counted
        // too), then authentication.
        RateLimitModule,
        AuthModule,
        ClusterModule,
        EventEmitterModule.forRoot(),
        DomainEventsModule,
        MetricsModule,
        DatabaseModule,
        BridgeModule,
        UsageModule,
        LimitsModule,
        EventsModule,
        RealtimeModule,
        BroadcastsModule,
        AlertsModule,
        TeamModule,
        ProxyModule,
        HealthModule,
      ],
    };
  }
}
