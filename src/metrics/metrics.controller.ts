import { SkipThrottle } from '@nestjs/throttler';
import { Controller, Get, Header, Headers, UnauthorizedException } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Registry } from 'prom-client';
import { bearerToken } from '../auth/authenticator';
import { PublicRoute } from '../auth/auth.guard';
import { AppConfig } from '../config/app-config';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Prometheus scrapes carry their own token (METRICS_TOKEN), not a user's credential. */
@ApiTags('metrics')
@PublicRoute()
@SkipThrottle({ reads: true, writes: true })
@Controller('metrics')
export class MetricsController {
  private readonly token: Buffer | undefined;

  constructor(
    private readonly registry: Registry,
    config: AppConfig,
  ) {
    this.token =
      config.auth.metricsToken === undefined ? undefined : digest(config.auth.metricsToken);
  }

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiBearerAuth('bearer')
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format); Bearer METRICS_TOKEN when it is set',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Metrics', schema: { type: 'string' } })
  metrics(@Headers('authorization') authorization?: string): Promise<string> {
    if (this.token) {
      const given = bearerToken(authorization);
      if (!given || !timingSafeEqual(digest(given), this.token))
        throw new UnauthorizedException('/metrics needs Authorization: Bearer <METRICS_TOKEN>');
    }
    return this.registry.metrics();
  }
}
