/** The timeline's events: newest first, at most `capacity`, each id once. */

export interface TimelineEvent {
  readonly id: number;
  readonly type: string;
  readonly source_app: string;
  readonly session_id: string;
  readonly timestamp: number;
  readonly summary: string;
  readonly payload: unknown;
  /** The time as shown (formatted once, not on every render). */
  readonly clock?: string;
}

export interface EventFilter {
  readonly sourceApp?: string;
  readonly sessionId?: string;
  readonly type?: string;
  readonly text?: string;
}

/**
 * A bounded store: adding an id already held does nothing (a replay after a reconnect may repeat
 * what a live event brought), the oldest fall off past `capacity`. Kept sorted by id, newest
 * first, whatever order events arrive in.
 */
export class EventStore {
  private readonly items: TimelineEvent[] = [];
  private readonly ids = new Set<number>();
  /** Bumped on every change (a cheap dependency for views). */
  version = 0;

  constructor(readonly capacity = 5000) {}

  get size(): number {
    return this.items.length;
  }

  /** The highest id held (the `last_event_id` to resume from), 0 when empty. */
  get lastId(): number {
    return this.items[0]?.id ?? 0;
  }

  /** Adds events; returns how many were new. */
  add(events: Iterable<TimelineEvent>): number {
    let added = 0;
    for (const event of events) {
      if (this.ids.has(event.id)) continue;
      if (this.items.length >= this.capacity && event.id < this.items[this.items.length - 1].id)
        continue; // older than everything kept
      this.ids.add(event.id);
      // Newest first: nearly always at the front.
      let at = 0;
      while (at < this.items.length && this.items[at].id > event.id) at++;
      this.items.splice(at, 0, event);
      added++;
      while (this.items.length > this.capacity) this.ids.delete(this.items.pop()!.id);
    }
    if (added) this.version++;
    return added;
  }

  all(): readonly TimelineEvent[] {
    return this.items;
  }

  filter(f: EventFilter): TimelineEvent[] {
    const text = f.text?.trim().toLowerCase();
    return this.items.filter(
      (e) =>
        (!f.sourceApp || e.source_app === f.sourceApp) &&
        (!f.sessionId || e.session_id === f.sessionId) &&
        (!f.type || e.type === f.type) &&
        (!text ||
          e.summary.toLowerCase().includes(text) ||
          e.type.toLowerCase().includes(text) ||
          e.session_id.toLowerCase().includes(text)),
    );
  }

  /** Events per `bucketMs` over the last `windowMs` before `now`, by type (the activity pulse). */
  pulse(
    now: number,
    windowMs = 300_000,
    bucketMs = 10_000,
  ): { starts: number[]; byType: Map<string, number[]> } {
    const buckets = Math.ceil(windowMs / bucketMs);
    // The last bucket is the one `now` is in (still filling).
    const first = Math.floor(now / bucketMs) * bucketMs - (buckets - 1) * bucketMs;
    const starts = Array.from({ length: buckets }, (_, i) => first + i * bucketMs);
    const byType = new Map<string, number[]>();
    for (const e of this.items) {
      // Ids follow arrival, timestamps the sender's clock: every event is looked at.
      const i = Math.floor((e.timestamp - first) / bucketMs);
      if (i < 0 || i >= buckets) continue;
      let row = byType.get(e.type);
      if (!row) byType.set(e.type, (row = new Array<number>(buckets).fill(0)));
      row[i]++;
    }
    return { starts, byType };
  }
}

/** A one-line summary of a hook event for the timeline (tool and its input, prompt, message). */
export function summarize(type: string, payload: unknown): string {
  const p = (payload && typeof payload === 'object' ? payload : {}) as Record<string, unknown>;
  const tool = typeof p.tool_name === 'string' ? p.tool_name : undefined;
  const input = (p.tool_input && typeof p.tool_input === 'object' ? p.tool_input : {}) as Record<
    string,
    unknown
  >;
  const detail =
    (typeof input.command === 'string' && input.command) ||
    (typeof input.file_path === 'string' && input.file_path) ||
    (typeof input.pattern === 'string' && input.pattern) ||
    (typeof p.prompt === 'string' && p.prompt) ||
    (typeof p.message === 'string' && p.message) ||
    (typeof p.title === 'string' && p.title) ||
    '';
  const text = [tool, detail].filter(Boolean).join(' · ');
  return (text || type).slice(0, 200);
}
