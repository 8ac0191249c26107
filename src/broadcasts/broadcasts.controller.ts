import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { BroadcastDto, BroadcastResultDto } from './dto/broadcast.dto';
import { DomainEventsService } from './domain-events.service';

@ApiTags('broadcasts')
@Controller('api/broadcasts')
export class BroadcastsController {
  constructor(private readonly domain: DomainEventsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Publish a domain event to a room (server to server; X-API-Key when API_KEYS is set)',
  })
  @ApiCreatedResponse({ type: BroadcastResultDto })
  publish(@Body() body: BroadcastDto): Promise<BroadcastResultDto> {
    return this.domain.publish(body.event_type, body.room, body.data, 'broadcast');
  }
}
