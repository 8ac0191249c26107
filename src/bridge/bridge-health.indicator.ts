import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { BridgeClient } from './bridge-client';
import { publicBridgeMessage } from './bridge-process.error';
import { BridgeSupervisor } from './bridge-supervisor';

/**
 * The bridge in /health (and in /health/ready with BRIDGE_REQUIRED=true, the only case where it
 * fails). Health is public: a failure is named by its type and public words, never its stderr or
 * paths (those are in the admin's view of /api/usage/bridge/status).
 */
@Injectable()
export class BridgeHealthIndicator {
  constructor(
    private readonly config: AppConfig,
    private readonly client: BridgeClient,
    private readonly supervisor: BridgeSupervisor,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key: string) {
    const indicator = this.indicators.check(key);
    const { state, lastError } = this.supervisor.getStatus();
    if (!this.config.bridge.enabled) return indicator.up({ enabled: false });
    const healthy = await this.client.isHealthy();
    const details = {
      enabled: true,
      mode: this.config.bridge.mode,
      state,
      reachable: healthy,
      required: this.config.bridge.required,
      ...(lastError && !healthy
        ? { error: lastError.type, message: publicBridgeMessage(lastError.type) }
        : {}),
    };
    return healthy || !this.config.bridge.required
      ? indicator.up(details)
      : indicator.down(details);
  }
}
