import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { BridgeClient } from './bridge-client';
import { BridgeHealthIndicator } from './bridge-health.indicator';
import { BridgeMetrics } from './bridge-metrics';
import { BridgeStatusController } from './bridge-status.controller';
import { BridgeStatusPublisher } from './bridge-status.publisher';
import { BridgeSupervisor } from './bridge-supervisor';

/** Everything the gateway knows about the usage bridge: the process, the client, their health. */
@Module({
  imports: [
    HttpModule.register({
      // Keep-alive: a gateway call reuses a warm connection instead of a TCP handshake each time.
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
      maxRedirects: 0,
    }),
    TerminusModule,
  ],
  controllers: [BridgeStatusController],
  providers: [
    BridgeSupervisor,
    BridgeClient,
    BridgeStatusPublisher,
    BridgeMetrics,
    BridgeHealthIndicator,
  ],
  exports: [BridgeClient, BridgeSupervisor, BridgeHealthIndicator, BridgeStatusPublisher],
})
export class BridgeModule {}
