import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AlertListDto, AlertsQueryDto } from './dto/alert.dto';
import { AlertStore, toDto } from './alert.store';

@ApiTags('alerts')
@Controller('api/alerts')
export class AlertsController {
  constructor(private readonly store: AlertStore) {}

  @Get()
  @ApiOperation({
    summary:
      'Stored alerts, newest first (limit thresholds, predicted limit, skill anomalies, bridge)',
  })
  @ApiOkResponse({ type: AlertListDto })
  async list(@Query() query: AlertsQueryDto): Promise<AlertListDto> {
    const alerts = (await this.store.list(query.limit ?? 100, query.after_id)).map(toDto);
    return { alerts, count: alerts.length };
  }
}
