import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { RedisHealthIndicator } from './redis-health.indicator';
import { BridgeModule } from '../bridge/bridge.module';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), BridgeModule],
  controllers: [HealthController],
  providers: [RedisHealthIndicator],
})
export class HealthModule {}
