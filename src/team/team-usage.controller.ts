import { BadRequestException, Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CLOCK, type Clock } from '../common/clock';
import { Roles } from '../auth/auth.guard';
import {
  TeamMetricsDto,
  TeamMetricsQueryDto,
  TeamUsageDto,
  TeamUsageQueryDto,
} from './dto/team-usage.dto';
import { TeamReports } from './reports/team-reports';
import { TeamSummary } from './reports/team-summary';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A metrics window is at most this long (a number with a test, like every limit). */
export const MAX_METRICS_WINDOW_DAYS = 93;

@ApiTags('team')
@Controller('api/team/usage')
export class TeamUsageController {
  constructor(
    private readonly reports: TeamReports,
    private readonly summary: TeamSummary,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  @Get()
  @Roles('admin', 'viewer', 'member')
  @ApiOperation({
    summary: 'The team at a glance: per member today, this week, this month, the 5-hour block',
    description:
      'Per member: cost and tokens today / this week / this month (in `timezone`), the running 5-hour block with its burn rate (and Claude Code’s official 5-hour % when the member’s status line reported it), last activity, machines, the official 5-hour and 7-day figures; team totals. A member token may read it (no prompts are in it).',
  })
  @ApiOkResponse({ type: TeamUsageDto })
  team(@Query() query: TeamUsageQueryDto): Promise<TeamUsageDto> {
    return this.summary.summary(query);
  }

  @Get('metrics')
  @Roles('admin', 'viewer', 'member')
  @ApiOperation({
    summary: "Claude Code's OTLP counters per member, metric and series over a window",
    description: `Sums of the per-minute deltas (cumulative series are turned into deltas). Window: \`since\`…\`until\` (ISO-8601; default the last 24 hours, at most ${MAX_METRICS_WINDOW_DAYS} days). A member token may read it, as the team reports (counts, no prompts).`,
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
