import { CLOCK, type Clock } from '../common/clock';
import { Inject, Injectable } from '@nestjs/common';
import { EventFilterOptionsDto, EventListDto, HookEventDto } from './dto/hook-event.dto';
import type { ListEventsQueryDto } from './dto/list-events.query.dto';
import { type Appended, EventStore } from './event.store';
import { HOOK_EVENT_STORED, type HookEventStoredEvent } from './hook-event.events';
import { normalizeHookEvent, type NormalizedHookEvent } from './hook-event.normalizer';
import { readIdempotencyKey } from '../common/idempotency-key';
import { ValidationFailedError } from '../common/app-error';
import { DomainEvents } from '../common/domain-events';

const DEFAULT_LIMIT = 100;

/** A stored event, and whether this call stored it (false: an idempotent resend). */
export interface Ingested {
  readonly event: HookEventDto;
  readonly created: boolean;
}

/** Hook-event ingestion and history; announces every stored event for the realtime gateway. */
@Injectable()
export class EventsService {
  constructor(
    private readonly store: EventStore,
    private readonly events: DomainEvents,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /**
   * Validates, commits, then announces; resolves with the stored event. A resend with a known
   * idempotency key resolves with the first copy (`created: false`) and announces nothing.
   */
  async ingest(
    body: unknown,
    sourceAppHeader?: string,
    idempotencyKeyHeader?: string | string[],
    member: string | null = null,
  ): Promise<Ingested> {
    const { key: idempotencyKey, errors } = readIdempotencyKey(idempotencyKeyHeader);
    // One reading of the clock: a timestamp the sender did not give (or gave absurdly) is exactly
    // the received time.
    const receivedAt = this.now();
    let normalized: NormalizedHookEvent;
    try {
      normalized = normalizeHookEvent(body, sourceAppHeader, receivedAt);
    } catch (error) {
      if (error instanceof ValidationFailedError && errors.length)
        throw new ValidationFailedError([...errors, ...error.fieldErrors]);
      throw error;
    }
    if (errors.length) throw new ValidationFailedError(errors);
    return this.announceNew(
      await this.store.append({ ...normalized, member }, receivedAt, idempotencyKey),
    );
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
    idempotencyKey: string | null = null,
  ): Promise<Ingested> {
    const appended = await this.store.append(
      {
        sourceApp: source,
        sessionId: '',
        hookEventType: eventType,
        toolName: null,
        toolUseId: null,
        agentId: null,
        payload: data,
        timestamp: this.now(),
        timestampSource: 'received',
        room,
      },
      this.now(),
      idempotencyKey,
    );
    return this.announceNew(appended);
  }

  async list(query: ListEventsQueryDto): Promise<EventListDto> {
    const rows = await this.store.list({
      member: query.member,
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

  /** The newest `limit` events (up to `upToId`, of `member` if given), oldest first. */
  async latest(limit: number, upToId?: number, member?: string): Promise<HookEventDto[]> {
    return (await this.store.latest(limit, upToId, member)).map((row) => HookEventDto.from(row));
  }

  filterOptions(): Promise<EventFilterOptionsDto> {
    return this.store.filterOptions();
  }

  /** The id of the newest stored event of any kind (the replay sequence), 0 when none. */
  lastId(): Promise<number> {
    return this.store.lastId();
  }

  /** Announces a newly stored event (for the sockets); a replayed one was announced before. */
  private announceNew({ row, created }: Appended): Ingested {
    const event = HookEventDto.from(row);
    if (created) {
      const announcement: HookEventStoredEvent = { event };
      this.events.emit(HOOK_EVENT_STORED, announcement);
    }
    return { event, created };
  }
}
