import { SkipThrottle } from '@nestjs/throttler';
import { PublicRoute } from '../auth/auth.guard';
import { Controller, Get } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  DiskHealthIndicator,
  HealthCheck,
  HealthCheckService,
  type HealthIndicatorFunction,
  MemoryHealthIndicator,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { dirname } from 'node:path';
import { AppConfig } from '../config/app-config';
import { RedisHealthIndicator } from './redis-health.indicator';
import { BridgeHealthIndicator } from '../bridge/bridge-health.indicator';

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
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process is up and serving' })
  live() {
    return this.health.check([]);
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
    return this.health.check(checks);
  }

  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Everything, with details: the readiness checks, Redis and the bridge (reported)',
  })
  @ApiOkResponse({ description: 'All required checks pass' })
  @ApiServiceUnavailableResponse({ description: 'A required check fails' })
  all() {
    return this.health.check([
      ...this.servingChecks(),
      () => this.redis.check('redis'),
      () => this.bridge.check('bridge'),
    ]);
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
