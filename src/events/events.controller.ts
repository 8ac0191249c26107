import { Body, Controller, Get, Headers, HttpCode, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Caller, memberScope, Roles } from '../auth/auth.guard';
import type { Principal } from '../auth/authenticator';
import { EventCreatedDto, EventFilterOptionsDto, EventListDto } from './dto/hook-event.dto';
import { ListEventsQueryDto } from './dto/list-events.query.dto';
import { EventsService } from './events.service';

@ApiTags('events')
@Controller('api/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post()
  @Roles('admin', 'member')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Ingest a Claude Code hook event (raw hook payload or envelope); stored before 201',
  })
  @ApiHeader({
    name: 'X-Source-App',
    required: false,
    description:
      "The app the event belongs to (else the envelope's source_app, else the last segment of cwd)",
  })
  @ApiBody({
    description:
      'A raw hook payload (has hook_event_name and session_id) or an envelope {source_app, session_id, hook_event_type, payload, timestamp?}; at most 1 MB',
    schema: { type: 'object', additionalProperties: true },
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'A key of your choosing (≤ 128 visible ASCII characters; the hook sender sends a UUID): a resend with the same key answers 200 with the first id and stores and broadcasts nothing',
  })
  @ApiCreatedResponse({ type: EventCreatedDto })
  @ApiOkResponse({
    type: EventCreatedDto,
    description:
      'A resend of an Idempotency-Key already stored: the first id (Idempotent-Replayed: true)',
  })
  async ingest(
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('x-source-app') sourceApp?: string,
    @Headers('idempotency-key') idempotencyKey?: string,
    @Caller() caller?: Principal,
  ): Promise<EventCreatedDto> {
    const { event, created } = await this.events.ingest(
      body,
      sourceApp,
      idempotencyKey,
      caller?.member?.name ?? null,
    );
    if (!created) void reply.status(200).header('Idempotent-Replayed', 'true');
    return { id: event.id };
  }

  @Get()
  @Roles('admin', 'viewer', 'member')
  @ApiOperation({
    summary: 'Stored hook events, oldest first, after an id (history, replay)',
    description: 'A member token reads its own events only (its `member` filter is forced).',
  })
  @ApiOkResponse({ type: EventListDto })
  list(@Query() query: ListEventsQueryDto, @Caller() caller?: Principal): Promise<EventListDto> {
    const own = memberScope(caller);
    return this.events.list(own === undefined ? query : { ...query, member: own });
  }

  @Get('filter-options')
  @ApiOperation({ summary: 'Distinct apps, sessions and event types, for filter menus' })
  @ApiOkResponse({ type: EventFilterOptionsDto })
  filterOptions(): Promise<EventFilterOptionsDto> {
    return this.events.filterOptions();
  }
}
