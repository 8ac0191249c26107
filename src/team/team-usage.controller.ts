import { BadRequestException, Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CLOCK, type Clock } from '../common/clock';
import { TeamMetricsDto, TeamMetricsQueryDto } from './dto/team-usage.dto';
import { TeamReports } from './reports/team-reports';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A metrics window is at most this long (a number with a test, like every limit). */
export const MAX_METRICS_WINDOW_DAYS = 93;

@ApiTags('team')
@Controller('api/team/usage')
export class TeamUsageController {
  constructor(
    private readonly reports: TeamReports,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  @Get('metrics')
  @ApiOperation({
    summary: "Claude Code's OTLP counters per member, metric and series over a window",
    description: `Sums of the per-minute deltas (cumulative series are turned into deltas). Window: \`since\`…\`until\` (ISO-8601; default the last 24 hours, at most ${MAX_METRICS_WINDOW_DAYS} days).`,
  })
  @ApiOkResponse({ type: TeamMetricsDto })
  async metrics(@Query() query: TeamMetricsQueryDto): Promise<TeamMetricsDto> {
    const until = query.until ? Date.parse(query.until) : this.now();
    const since = query.since ? Date.parse(query.since) : until - DAY_MS;
    if (since >= until || until - since > MAX_METRICS_WINDOW_DAYS * DAY_MS)
      throw new BadRequestException(
        `since must come before until, at most ${MAX_METRICS_WINDOW_DAYS} days apart`,
      );
    return {
      since: new Date(since).toISOString(),
      until: new Date(until).toISOString(),
      metrics: await this.reports.metrics(since, until, query.member),
    };
  }
}
