import { RecentIds } from './recent-ids';
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { HookEventDto } from '../events/dto/hook-event.dto';
import { EventsService } from '../events/events.service';

/** Events read from the database and sent before the client's transport must drain. */
export const REPLAY_PAGE = 500;
/**
 * Live events kept for one replaying client (they wait until it is up to date). A client that
 * replays so slowly that more arrive is cut off: it reconnects with its `last_event_id`.
 */
export const REPLAY_LIVE_BUFFER_MAX = 10_000;
/** Ids remembered as sent from the database, to skip their broadcast copy (a sliding window). */
const DELIVERED_WINDOW = 2 * REPLAY_PAGE;

/** The live events of one replay outgrew REPLAY_LIVE_BUFFER_MAX. */
export class ReplayOverflowError extends Error {
  constructor() {
    super(`more than ${REPLAY_LIVE_BUFFER_MAX} live events arrived during the replay`);
    this.name = 'ReplayOverflowError';
  }
}

/**
 * Brings a connecting socket up to date: a client that reconnects with `last_event_id` gets every
 * event after it, in order, exactly once, before live ones; a new client gets the last 50 in
 * `initial` and then every later one, also exactly once.
 *
 * Why it is safe: live events are broadcast in id order right after they commit, and each is
 * noted here. While a socket replays it is not yet in any room and every broadcast is buffered for
 * it; the database is read only up to the last id already broadcast (so nothing read can also
 * arrive later). When a read comes back short, the socket joins its rooms and the buffer is
 * flushed, skipping what was already sent — all in one synchronous step, so no broadcast falls
 * between "replayed" and "live".
 *
 * What it costs is bounded: the database is read a page (REPLAY_PAGE) at a time and the next page
 * waits until the client's transport has drained below WS_MAX_BUFFER_BYTES (`drained`), so a
 * client that reads slowly — or not at all — holds at most a page in the server; live events
 * wait in a buffer of at most REPLAY_LIVE_BUFFER_MAX; the ids remembered for de-duplication are a
 * window of two pages (a broadcast copy of an id read from the database arrives within the relay
 * lag, never pages later).
 */
@Injectable()
export class EventReplay implements OnApplicationBootstrap {
  private lastBroadcastId = 0;
  private readonly buffers = new Map<string, HookEventDto[]>();

  constructor(private readonly events: EventsService) {}

  async onApplicationBootstrap(): Promise<void> {
    this.lastBroadcastId = Math.max(this.lastBroadcastId, await this.events.lastId());
  }

  /** The broadcaster calls this for every event it broadcast, in id order. */
  broadcasted(event: HookEventDto): void {
    if (event.id > this.lastBroadcastId) this.lastBroadcastId = event.id;
    for (const buffer of this.buffers.values())
      if (buffer.length <= REPLAY_LIVE_BUFFER_MAX) buffer.push(event);
  }

  /**
   * Registers the socket's buffer, then `start(lastBroadcastId)` picks the cursor (and may send
   * the `initial` snapshot read up to that id); then sends `deliver` every event after the
   * cursor, calls `joinLive`, and sends what was broadcast meanwhile. Returns how many events were
   * delivered after `start` (and does not join if `isGone()` turns true). Between pages it waits
   * for `drained()`; it throws ReplayOverflowError when too many live events piled up meanwhile.
   */
  async replay(
    socketId: string,
    start: (lastBroadcastId: number) => Promise<number>,
    deliver: (event: HookEventDto) => void,
    joinLive: () => void,
    isGone: () => boolean,
    drained: () => Promise<void> = () => Promise.resolve(),
  ): Promise<number> {
    const buffer: HookEventDto[] = [];
    this.buffers.set(socketId, buffer);
    let sent = 0;
    // Ids sent from the database, so a buffered copy is not sent again. (Not just `<= cursor`: with
    // several instances an id lower than the cursor can commit later and arrive by broadcast.)
    const delivered = new RecentIds(DELIVERED_WINDOW);
    try {
      let cursor = await start(this.lastBroadcastId);
      const startCursor = cursor;
      for (;;) {
        if (isGone()) return sent;
        const upTo = this.lastBroadcastId;
        if (upTo <= cursor) break;
        const page = await this.events.between(cursor, upTo, REPLAY_PAGE);
        if (isGone()) return sent;
        for (const event of page) {
          deliver(event);
          delivered.add(event.id);
          cursor = event.id;
          sent += 1;
          // Back-pressure: a client that does not read holds up its own replay, not our memory.
          await drained();
          if (isGone()) return sent;
        }
        if (buffer.length > REPLAY_LIVE_BUFFER_MAX) throw new ReplayOverflowError();
        if (page.length < REPLAY_PAGE) break;
      }
      if (buffer.length > REPLAY_LIVE_BUFFER_MAX) throw new ReplayOverflowError();
      joinLive();
      for (const event of buffer) {
        if (delivered.has(event.id) || event.id <= startCursor) continue;
        deliver(event);
        delivered.add(event.id);
        sent += 1;
      }
      return sent;
    } finally {
      this.buffers.delete(socketId);
    }
  }
}
