import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { BroadcastDto, BroadcastResultDto } from './dto/broadcast.dto';
import { DomainEventsService } from './domain-events.service';

@ApiTags('broadcasts')
@Controller('api/broadcasts')
export class BroadcastsController {
  constructor(private readonly domain: DomainEventsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary:
      'Publish a domain event to a room (server to server; needs a credential when auth is on)',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'A key of your choosing (≤ 128 visible ASCII characters): a resend with the same key answers 200 with the first id and broadcasts nothing',
  })
  @ApiCreatedResponse({ type: BroadcastResultDto })
  @ApiOkResponse({
    type: BroadcastResultDto,
    description: 'A resend of an Idempotency-Key already stored (Idempotent-Replayed: true)',
  })
  async publish(
    @Body() body: BroadcastDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<BroadcastResultDto> {
    const { created, ...result } = await this.domain.publish(
      body.event_type,
      body.room,
      body.data,
      'broadcast',
      idempotencyKey,
    );
    if (!created) void reply.status(200).header('Idempotent-Replayed', 'true');
    return result;
  }
}
