import type { HookEventDto } from './dto/hook-event.dto';

/** Raised (on Nest's event emitter) once a hook event is committed, in id order. */
export const HOOK_EVENT_STORED = 'hook.event.stored';

export interface HookEventStoredEvent {
  readonly event: HookEventDto;
  /** Stored by another gateway instance (relayed over Redis), not by this one. */
  readonly remote?: boolean;
}
