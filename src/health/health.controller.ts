import { SkipThrottle } from '@nestjs/throttler';
import { PublicRoute } from '../auth/auth.guard';
import { Controller, Get, Req, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { credentialVerdict } from '../auth/auth.guard';
import { Authenticator } from '../auth/authenticator';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  DiskHealthIndicator,
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  type HealthIndicatorFunction,
  MemoryHealthIndicator,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { dirname } from 'node:path';
import { AppConfig } from '../config/app-config';
import { RedisHealthIndicator } from './redis-health.indicator';
import { BridgeHealthIndicator } from '../bridge/bridge-health.indicator';

type Checks = HealthCheckResult['details'];

/** Each check's status and nothing else: what anyone may know (no driver message, host or user). */
function publicChecks(checks: Partial<Checks> | undefined): Checks | undefined {
  if (!checks) return undefined;
  return Object.fromEntries(
    Object.entries(checks).flatMap(([name, check]) =>
      check ? [[name, { status: check.status }]] : [],
    ),
  ) as Checks;
}

/** A health result in public words. */
function publicResult(result: HealthCheckResult): HealthCheckResult {
  return {
    status: result.status,
    info: publicChecks(result.info),
    error: publicChecks(result.error),
    details: publicChecks(result.details) ?? {},
  };
}

/** A ping slower than this counts as down, so a stopped database fails readiness within 2 s. */
const DB_PING_TIMEOUT_MS = 1500;
/** Readiness fails when the data volume is fuller than this. */
const DISK_THRESHOLD_PERCENT = 0.95;
/** Readiness fails when the heap grows past this (a leak, not normal load). */
const HEAP_LIMIT_BYTES = 1024 * 1024 * 1024;

@ApiTags('health')
@PublicRoute()
@SkipThrottle({ reads: true, writes: true })
@Controller('health')
export class HealthController {
  constructor(
    private readonly config: AppConfig,
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly disk: DiskHealthIndicator,
    private readonly memory: MemoryHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly bridge: BridgeHealthIndicator,
    private readonly authenticator: Authenticator,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process is up and serving' })
  live() {
    return this.answer([], false);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary:
      'Readiness: what the service needs to serve — database, disk and heap, and the bridge only with BRIDGE_REQUIRED=true',
  })
  ready() {
    const checks = this.servingChecks();
    if (this.config.bridge.required) checks.push(() => this.bridge.check('bridge'));
    return this.answer(checks, false);
  }

  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Everything, with details: the readiness checks, Redis and the bridge (reported)',
  })
  @ApiOkResponse({ description: 'All required checks pass' })
  @ApiServiceUnavailableResponse({ description: 'A required check fails' })
  async all(@Req() request: FastifyRequest) {
    return this.answer(
      [...this.servingChecks(), () => this.redis.check('redis'), () => this.bridge.check('bridge')],
      await this.isAdmin(request),
    );
  }

  /**
   * Probes are public, so they speak in public words: each check's status only. The details
   * (driver messages name hosts, ports and users) are for admins: `/health` with an admin
   * credential, or anyone while auth is off (loopback only).
   */
  private async answer(checks: HealthIndicatorFunction[], detailed: boolean) {
    try {
      const result = await this.health.check(checks);
      return detailed ? result : publicResult(result);
    } catch (error) {
      if (detailed || !(error instanceof ServiceUnavailableException)) throw error;
      throw new ServiceUnavailableException(publicResult(error.getResponse() as HealthCheckResult));
    }
  }

  private async isAdmin(request: FastifyRequest): Promise<boolean> {
    if (!this.authenticator.required) return true;
    const verdict = await credentialVerdict(request, this.authenticator);
    return verdict !== undefined && !(verdict instanceof Error) && verdict.role === 'admin';
  }

  /** What serving needs: the store, room to write, a heap that is not leaking. */
  private servingChecks(): HealthIndicatorFunction[] {
    const dataPath =
      this.config.database.type === 'sqlite' ? dirname(this.config.database.path) : process.cwd();
    return [
      () => this.db.pingCheck('database', { timeout: DB_PING_TIMEOUT_MS }),
      () =>
        this.disk.checkStorage('disk', {
          path: dataPath,
          thresholdPercent: DISK_THRESHOLD_PERCENT,
        }),
      () => this.memory.checkHeap('memory_heap', HEAP_LIMIT_BYTES),
    ];
  }
}
