import { Controller, Get, Inject, Req } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import type { FastifyRequest } from 'fastify';
import { isAdmin } from '../auth/auth.guard';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '../config/app-config';
import { BridgeClient } from './bridge-client';
import { publicBridgeMessage } from './bridge-process.error';
import { BridgeSupervisor } from './bridge-supervisor';
import type { BridgeStatusDto } from './dto/bridge-status.dto';

@ApiTags('usage')
@Controller('api/usage/bridge')
export class BridgeStatusController {
  constructor(
    private readonly config: AppConfig,
    private readonly client: BridgeClient,
    private readonly supervisor: BridgeSupervisor,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /**
   * The bridge process, its health and its circuit breakers. Its stderr, local paths and internal
   * URLs are shown to admins only (an API key, a token with role admin, or anyone while auth is
   * off); other callers get the error's type and a sentence without them.
   */
  @Get('status')
  @ApiOperation({
    summary:
      'Bridge process, health and circuit breaker state (stderr, paths and URLs for admins only)',
  })
  async status(@Req() request: FastifyRequest): Promise<BridgeStatusDto> {
    const full = isAdmin(request);
    const bridge = this.config.bridge;
    const healthy = await this.client.isHealthy();
    const processStatus = this.supervisor.getStatus();
    const upstreams = this.client.upstreamStatus();
    const primary = upstreams[0];
    const error = processStatus.lastError;
    return {
      enabled: bridge.enabled,
      mode: bridge.enabled ? bridge.mode : 'off',
      url: full ? primary.url : null,
      timeout: bridge.timeoutMs,
      retries: bridge.retries,
      healthy,
      timestamp: new Date(this.now()).toISOString(),
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
          message: full ? error.message : publicBridgeMessage(error.type),
          troubleshooting: full ? [...error.troubleshooting] : [],
          stderr_tail: full ? [...error.stderrTail] : [],
          at: error.at,
        },
      },
      circuit: { state: primary.circuit, failures: primary.failures, openedAt: primary.openedAt },
      upstreams: full ? upstreams : upstreams.map((u) => ({ ...u, url: null })),
      details: full ? 'full' : 'summary',
    };
  }
}
