import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BridgeClient } from './bridge-client';
import { AppConfig } from '../config/app-config';
import { BridgeHealthIndicator } from './bridge-health.indicator';
import { BridgeHealthProbe } from './bridge-health.probe';
import { BridgeMetrics } from './bridge-metrics';
import { BridgePreflight } from './bridge-preflight';
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
    BridgeHealthProbe,
    // Its own provider, so a test module can replace the checks of the machine.
    {
      provide: BridgePreflight,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new BridgePreflight(config.bridge),
    },
    BridgeSupervisor,
    BridgeClient,
    BridgeStatusPublisher,
    BridgeMetrics,
    BridgeHealthIndicator,
  ],
  exports: [BridgeClient, BridgeSupervisor, BridgeHealthIndicator, BridgeStatusPublisher],
})
export class BridgeModule {}
