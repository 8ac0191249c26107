import { Controller, Get, Query, UseInterceptors } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { DataSourceInterceptor } from './data-source.interceptor';
import {
  DailyReportDto,
  MonthlyReportDto,
  SessionsReportDto,
  UsageReportQueryDto,
  WeeklyReportDto,
} from './dto/usage-report.dto';
import { FallbackInterceptor, UsageFallback } from './fallback.interceptor';
import { ReportFormatInterceptor } from './report-format.interceptor';
import { DATA_SOURCE_HEADERS } from './data-source.headers';
import type { Sourced } from './usage-params';
import { UsageService } from './usage.service';

const SAME_AS_CCUSAGE =
  'The same rows as `ccusage {command} --json --breakdown` (entries, dedupe, pricing, grouping), kept up to date incrementally by the bridge; falls back to the last stored report for the same parameters when the bridge is down. `format=csv` answers RFC 4180 text.';

/** GET /api/usage/reports/*: daily, weekly, monthly and per-session usage (docs/design.md §4, §6). */
@ApiTags('usage')
@Controller('api/usage/reports')
@ApiProduces('application/json', 'text/csv')
@ApiExtraModels(DailyReportDto, WeeklyReportDto, MonthlyReportDto, SessionsReportDto)
// Outermost first: headers from the Sourced answer, then CSV, then the fallbacks it formats too.
@UseInterceptors(DataSourceInterceptor, ReportFormatInterceptor, FallbackInterceptor)
export class UsageReportsController {
  constructor(private readonly usage: UsageService) {}

  @Get('daily')
  @UsageFallback('report:daily')
  @ApiOperation({
    summary: 'Usage per day in a time zone',
    description: SAME_AS_CCUSAGE.replace('{command}', 'daily'),
  })
  @ApiOkResponse({ type: DailyReportDto, headers: DATA_SOURCE_HEADERS })
  daily(@Query() query: UsageReportQueryDto): Promise<Sourced<DailyReportDto>> {
    return this.usage.report('daily', query) as Promise<Sourced<DailyReportDto>>;
  }

  @Get('weekly')
  @UsageFallback('report:weekly')
  @ApiOperation({
    summary: 'Usage per week (weeks start on start_of_week)',
    description: SAME_AS_CCUSAGE.replace('{command}', 'weekly'),
  })
  @ApiOkResponse({ type: WeeklyReportDto, headers: DATA_SOURCE_HEADERS })
  weekly(@Query() query: UsageReportQueryDto): Promise<Sourced<WeeklyReportDto>> {
    return this.usage.report('weekly', query) as Promise<Sourced<WeeklyReportDto>>;
  }

  @Get('monthly')
  @UsageFallback('report:monthly')
  @ApiOperation({
    summary: 'Usage per month',
    description: SAME_AS_CCUSAGE.replace('{command}', 'monthly'),
  })
  @ApiOkResponse({ type: MonthlyReportDto, headers: DATA_SOURCE_HEADERS })
  monthly(@Query() query: UsageReportQueryDto): Promise<Sourced<MonthlyReportDto>> {
    return this.usage.report('monthly', query) as Promise<Sourced<MonthlyReportDto>>;
  }

  @Get('sessions')
  @UsageFallback('report:sessions')
  @ApiOperation({
    summary: 'Usage per session, as ccusage groups sessions (the log file’s folder)',
    description: SAME_AS_CCUSAGE.replace('{command}', 'session'),
  })
  @ApiOkResponse({ type: SessionsReportDto, headers: DATA_SOURCE_HEADERS })
  sessions(@Query() query: UsageReportQueryDto): Promise<Sourced<SessionsReportDto>> {
    return this.usage.report('sessions', query) as Promise<Sourced<SessionsReportDto>>;
  }
}
