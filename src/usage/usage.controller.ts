import { Body, Controller, Get, HttpCode, Post, Query, UseInterceptors } from '@nestjs/common';
import {
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { DATA_SOURCE_HEADERS } from './data-source.headers';
import { DataSourceInterceptor } from './data-source.interceptor';
import { FallbackInterceptor, UsageFallback } from './fallback.interceptor';
import { UpdateUsageConfigDto, UsageConfigDto, UsageConfigResultDto } from './dto/usage-config.dto';
import { UsageSessionsDto, UsageSnapshotListDto, UsageStatsDto } from './dto/usage-payload.dto';
import {
  SnapshotsQueryDto,
  UsageSessionsQueryDto,
  UsageStatsQueryDto,
} from './dto/usage-query.dto';
import { SnapshotStore } from './snapshot.store';
import { UsageConfigService } from './usage-config.service';
import type { Sourced } from './usage-params';
import { UsageService } from './usage.service';

@ApiTags('usage')
@Controller('api/usage')
@UseInterceptors(DataSourceInterceptor, FallbackInterceptor)
export class UsageController {
  constructor(
    private readonly usage: UsageService,
    private readonly usageConfig: UsageConfigService,
    private readonly snapshots: SnapshotStore,
  ) {}

  @Get('stats')
  @UsageFallback('stats')
  @ApiOperation({
    summary:
      'Current block, burn rate, predictions and plan usage (falls back when the bridge is down)',
  })
  @ApiOkResponse({ type: UsageStatsDto, headers: DATA_SOURCE_HEADERS })
  stats(@Query() query: UsageStatsQueryDto): Promise<Sourced<UsageStatsDto>> {
    return this.usage.stats(query);
  }

  @Get('sessions')
  @UsageFallback('sessions')
  @ApiOperation({ summary: '5-hour blocks in a window (falls back to stored blocks)' })
  @ApiOkResponse({ type: UsageSessionsDto, headers: DATA_SOURCE_HEADERS })
  sessions(@Query() query: UsageSessionsQueryDto): Promise<Sourced<UsageSessionsDto>> {
    return this.usage.sessions(query);
  }

  @Get('config')
  @ApiOperation({ summary: 'The usage config, as stored (the database is its source of truth)' })
  @ApiOkResponse({ type: UsageConfigDto, headers: DATA_SOURCE_HEADERS })
  async getConfig(): Promise<Sourced<UsageConfigDto>> {
    return { payload: await this.usageConfig.getConfig(), source: 'database', ageSeconds: 0 };
  }

  @Post('config')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Change the usage config: stored, then pushed to the bridge (later if it is down)',
  })
  @ApiOkResponse({ type: UsageConfigResultDto })
  @ApiUnprocessableEntityResponse({
    description: 'The usage bridge refused the values (its reason and fields); nothing was changed',
  })
  async updateConfig(@Body() body: UpdateUsageConfigDto): Promise<Sourced<UsageConfigResultDto>> {
    return {
      payload: await this.usageConfig.updateConfig(body),
      source: 'database',
      ageSeconds: 0,
    };
  }

  @Post('config/reset')
  @HttpCode(200)
  @ApiOperation({ summary: 'Restore the default usage config' })
  @ApiOkResponse({ type: UsageConfigResultDto })
  async resetConfig(): Promise<Sourced<UsageConfigResultDto>> {
    return { payload: await this.usageConfig.resetConfig(), source: 'database', ageSeconds: 0 };
  }

  @Get('snapshots')
  @ApiOperation({ summary: 'Stored payload history, newest first (for charts)' })
  @ApiHeader({ name: 'X-Data-Source', required: false, description: 'always database' })
  @ApiOkResponse({ type: UsageSnapshotListDto })
  async listSnapshots(@Query() query: SnapshotsQueryDto): Promise<Sourced<UsageSnapshotListDto>> {
    const rows = await this.snapshots.list({
      kind: query.kind,
      since: query.since ? Date.parse(query.since) : undefined,
      limit: query.limit ?? 100,
    });
    const snapshots = rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      params: row.paramsKey,
      created_at: new Date(row.createdAt).toISOString(),
      payload: row.payload as Record<string, unknown>,
    }));
    return { payload: { snapshots, count: snapshots.length }, source: 'database', ageSeconds: 0 };
  }
}
