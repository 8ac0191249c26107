import { Controller, Get, Inject, Query } from '@nestjs/common';
import { CLOCK, type Clock } from '../../common/clock';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkillMetricsDto, SkillMetricsQueryDto } from '../dto/skill-metrics.dto';
import { SkillMetricsService } from './skill-metrics.service';

@ApiTags('skills')
@Controller('api/skills')
export class SkillMetricsController {
  constructor(
    private readonly metrics: SkillMetricsService,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  @Get('metrics')
  @ApiOperation({ summary: 'Top skills (invocations, completion rate, durations) and anomalies' })
  @ApiOkResponse({ type: SkillMetricsDto })
  metricsOf(@Query() query: SkillMetricsQueryDto): SkillMetricsDto {
    const window = query.window ?? '24h';
    return {
      ...this.metrics.snapshot(window, query.limit ?? 10),
      window,
      generated_at: new Date(this.now()).toISOString(),
    };
  }
}
