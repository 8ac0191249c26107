import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { EventFilterOptionsDto, EventListDto, HookEventDto } from './dto/hook-event.dto';
import type { ListEventsQueryDto } from './dto/list-events.query.dto';
import { EventStore } from './event.store';
import type { HookEvent } from './hook-event.entity';
import { HOOK_EVENT_STORED, type HookEventStoredEvent } from './hook-event.events';
import { normalizeHookEvent } from './hook-event.normalizer';

const DEFAULT_LIMIT = 100;

/** Hook-event ingestion and history; announces every stored event for the realtime gateway. */
@Injectable()
export class EventsService {
  constructor(
    private readonly store: EventStore,
    private readonly events: EventEmitter2,
  ) {}

  /** Validates, commits, then announces; resolves with the stored event. */
  async ingest(body: unknown, sourceAppHeader?: string): Promise<HookEventDto> {
    const normalized = normalizeHookEvent(body, sourceAppHeader);
    return this.announce(await this.store.append(normalized));
  }

  /**
   * Stores a domain event (`project.updated`, `pr.created`, …) for `room` and announces it like a
   * hook event, so it gets an id in the same sequence (the replay cursor) and is broadcast.
   */
  async publishDomain(
    eventType: string,
    room: string,
    data: Record<string, unknown>,
    source: string,
  ): Promise<HookEventDto> {
    const row = await this.store.append({
      sourceApp: source,
      sessionId: '',
      hookEventType: eventType,
      toolName: null,
      toolUseId: null,
      agentId: null,
      payload: data,
      timestamp: Date.now(),
      room,
    });
    return this.announce(row);
  }

  async list(query: ListEventsQueryDto): Promise<EventListDto> {
    const rows = await this.store.list({
      sourceApp: query.source_app,
      sessionId: query.session_id,
      hookEventType: query.hook_event_type,
      afterId: query.after_id,
      limit: query.limit ?? DEFAULT_LIMIT,
    });
    const events = rows.map((row) => HookEventDto.from(row));
    return { events, count: events.length, next_after_id: events.at(-1)?.id ?? null };
  }

  /** Stored events with `afterId < id <= upToId`, oldest first (replay). */
  async between(afterId: number, upToId: number, limit: number): Promise<HookEventDto[]> {
    return (await this.store.list({ afterId, upToId, limit, includeDomain: true })).map((row) =>
      HookEventDto.from(row),
    );
  }

  /** The newest `limit` events (up to `upToId` if given), oldest first. */
  async latest(limit: number, upToId?: number): Promise<HookEventDto[]> {
    return (await this.store.latest(limit, upToId)).map((row) => HookEventDto.from(row));
  }

  filterOptions(): Promise<EventFilterOptionsDto> {
    return this.store.filterOptions();
  }

  /** The id of the newest stored event of any kind (the replay sequence), 0 when none. */
  lastId(): Promise<number> {
    return this.store.lastId();
  }

  private announce(row: HookEvent): HookEventDto {
    const stored = HookEventDto.from(row);
    const announcement: HookEventStoredEvent = { event: stored };
    this.events.emit(HOOK_EVENT_STORED, announcement);
    return stored;
  }
}
