import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BridgeClient } from './bridge-client';
import { BridgeHealthIndicator } from './bridge-health.indicator';
import { BridgeMetrics } from './bridge-metrics';
import { BridgeStatusController } from './bridge-status.controller';
import { BridgeStatusPublisher } from './bridge-status.publisher';
import { BridgeSupervisor } from './bridge-supervisor';
import { BridgeTransport } from './bridge-transport';

/** Everything the gateway knows about the usage bridge: the process, the client, their health. */
@Module({
  imports: [TerminusModule],
  controllers: [BridgeStatusController],
  providers: [
    BridgeTransport,
    BridgeSupervisor,
    BridgeClient,
    BridgeStatusPublisher,
    BridgeMetrics,
    BridgeHealthIndicator,
  ],
  exports: [BridgeClient, BridgeSupervisor, BridgeHealthIndicator, BridgeStatusPublisher],
})
export class BridgeModule {}
