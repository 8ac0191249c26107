import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '../config/app-config';
import { BridgeClient } from './bridge-client';
import { BridgeSupervisor } from './bridge-supervisor';
import type { BridgeStatusDto } from './dto/bridge-status.dto';

@ApiTags('usage')
@Controller('api/usage/bridge')
export class BridgeStatusController {
  constructor(
    private readonly config: AppConfig,
    private readonly client: BridgeClient,
    private readonly supervisor: BridgeSupervisor,
  ) {}

  /** The bridge process, its health and its circuit breakers. */
  @Get('status')
  @ApiOperation({ summary: 'Bridge process, health and circuit breaker state' })
  async status(): Promise<BridgeStatusDto> {
    const bridge = this.config.bridge;
    const healthy = await this.client.isHealthy();
    const processStatus = this.supervisor.getStatus();
    const upstreams = this.client.upstreamStatus();
    const primary = upstreams[0];
    const error = processStatus.lastError;
    return {
      enabled: bridge.enabled,
      mode: bridge.enabled ? bridge.mode : 'off',
      url: primary.url,
      timeout: bridge.timeoutMs,
      retries: bridge.retries,
      healthy,
      timestamp: new Date().toISOString(),
      process: {
        state: processStatus.state,
        pid: processStatus.pid,
        isReady: processStatus.isReady,
        isRestarting: processStatus.isRestarting,
        restartAttempts: processStatus.restartAttempts,
        uptime: processStatus.uptime,
        lastHealthCheck: this.client.lastHealth()?.at ?? processStatus.lastHealthCheck,
        lastError: error && {
          type: error.type,
          message: error.message,
          troubleshooting: [...error.troubleshooting],
          stderr_tail: [...error.stderrTail],
          at: error.at,
        },
      },
      circuit: { state: primary.circuit, failures: primary.failures, openedAt: primary.openedAt },
      upstreams,
    };
  }
}
