import { Controller, Get, Param, ParseEnumPipe, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { REPORT_KINDS, type ReportKind, type UsageReportDto } from '../usage/dto/usage-report.dto';
import { reportToCsv } from '../usage/report-csv';
import { Roles } from '../auth/auth.guard';
import { ValidationFailedError } from '../common/app-error';
import { TeamReportQueryDto } from './dto/team-report.dto';
import { TeamReports } from './reports/team-reports';

const KINDS = Object.fromEntries(REPORT_KINDS.map((k) => [k, k])) as Record<ReportKind, ReportKind>;

@ApiTags('team')
@Controller('api/team/usage/reports')
@ApiProduces('application/json', 'text/csv')
export class TeamReportsController {
  constructor(private readonly reports: TeamReports) {}

  @Get(':kind')
  @Roles('admin', 'viewer', 'member')
  @ApiParam({ name: 'kind', enum: REPORT_KINDS })
  @ApiOperation({
    summary: 'The team’s usage per day, week, month or session, from the ledger',
    description:
      'The rows and rules of `/api/usage/reports/*` (ccusage’s) over every member’s ledger entries; `group_by=member|machine|model|project|agent` splits each row (the field of that name says which) and `limit` (1–1000) with `after` pages it by group (daily, weekly, monthly: the answer’s `page.next` is the next page’s `after`, its totals the page’s), `member`, `machine`, `model` and `project` filter. A member token may read them (numbers only, no prompts). Summed in the database from day and quarter-hour roll-ups. Time zone: `timezone` (default UTC), days start at `reset_hour` (default 0). `format=csv` answers RFC 4180 text.',
  })
  @ApiOkResponse({ schema: { type: 'object', additionalProperties: true } })
  async report(
    @Param('kind', new ParseEnumPipe(KINDS)) kind: ReportKind,
    @Query() query: TeamReportQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    if (kind === 'sessions' && (query.limit !== undefined || query.after !== undefined))
      throw new ValidationFailedError(
        (['limit', 'after'] as const)
          .filter((field) => query[field] !== undefined)
          .map((field) => ({ field, message: `${field} pages daily, weekly and monthly reports` })),
      );
    const report = await this.reports.report(kind, query);
    if (query.format !== 'csv') return report;
    void reply
      .header('Content-Type', 'text/csv; charset=utf-8; header=present')
      .header('Content-Disposition', `attachment; filename="team-usage-${kind}.csv"`);
    return reportToCsv(report as unknown as UsageReportDto);
  }
}
