import type uPlot from 'uplot';
import { computed, ref, type Ref } from 'vue';
import { stackedOptions } from '../lib/charts';
import { EventStore, summarize, type TimelineEvent } from '../lib/event-store';
import { formatClock } from '../lib/format';
import { stack } from '../lib/stack';
import type { Session } from './useSession';

/** Events kept in the page (the oldest go first). */
const KEPT = 5000;

/**
 * The event timeline and the activity pulse: events from the socket reach the store once per
 * animation frame, however many arrive — at 100 events/s the page re-renders at most at the
 * display's rate, not once per event.
 */
export function useTimeline({ api, guarded }: Session, now: Ref<number>) {
  const store = new EventStore(KEPT);
  const version = ref(0);
  const options = ref({
    source_apps: [] as string[],
    session_ids: [] as string[],
    hook_event_types: [] as string[],
  });

  const loadOptions = () =>
    guarded(async () => {
      options.value = (await api.get<typeof options.value>('/api/events/filter-options')).data;
    });

  let pending: TimelineEvent[] = [];
  let flushScheduled = false;
  function queueEvents(events: TimelineEvent[]) {
    pending.push(...events);
    if (flushScheduled) return;
    flushScheduled = true;
    requestAnimationFrame(() => {
      flushScheduled = false;
      const batch = pending;
      pending = [];
      if (store.add(batch)) version.value = store.version;
    });
  }

  /** A hook event or a domain event (its own type), as the timeline shows it. */
  function toEvent(data: Record<string, unknown>, type: string, id: number): TimelineEvent {
    const hook = typeof data.hook_event_type === 'string';
    return {
      id,
      type: hook ? (data.hook_event_type as string) : type,
      source_app: String(data.source_app ?? (hook ? '' : 'gateway')),
      session_id: String(data.session_id ?? ''),
      timestamp: Number(data.timestamp ?? Date.now()),
      summary: hook
        ? summarize(data.hook_event_type as string, data.payload)
        : summarize(type, data),
      clock: formatClock(Number(data.timestamp ?? Date.now()), true),
      payload: hook ? data.payload : data,
    };
  }

  // The pulse moves with the clock (once a second), not with every event.
  const pulse = computed(() => {
    const p = store.pulse(now.value);
    return { starts: p.starts, ...stack(p.byType) };
  });
  const pulseKey = computed(() => pulse.value.names.join('|'));
  // Rebuilt only when the set of event types changes; values are read when the legend shows them.
  const pulseOptions = computed(() => {
    const names = pulseKey.value ? pulseKey.value.split('|') : [];
    return stackedOptions(
      names,
      (v) => String(Math.round(v)),
      () => [
        (pulse.value.starts[0] ?? Date.now()) / 1000 - 5,
        (pulse.value.starts.at(-1) ?? Date.now()) / 1000 + 5,
      ],
    );
  });
  const pulseData = computed<uPlot.AlignedData>(() => [
    pulse.value.starts.map((t) => t / 1000),
    ...pulse.value.cumulative,
  ]);

  return {
    store,
    version,
    options,
    loadOptions,
    queueEvents,
    toEvent,
    pulseKey,
    pulseOptions,
    pulseData,
  };
}
