import { Injectable } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import type { AlertRaisedEvent } from '../alerts/alert.events';
import type { BridgeStatusEvent } from '../bridge/bridge-status.event';
import type { HookEventStoredEvent } from '../events/hook-event.events';
import type { LimitReachedEvent, LimitsObservedEvent } from '../limits/limits.events';
import type { LimitsUpdateData } from '../realtime/realtime.protocol';
import type { UsageUpdatedEvent } from '../usage/usage.events';
import type { BudgetsUncheckedEvent } from '../proxy/proxy.events';

/**
 * Every event the services raise on Nest's event emitter, by name, with its payload: a name and
 * its payload cannot drift apart, for the raiser (DomainEvents.emit) nor for a listener
 * (@OnDomainEvent checks the handler's parameter).
 */
export interface DomainEventMap {
  'hook.event.stored': HookEventStoredEvent;
  'usage.updated': UsageUpdatedEvent;
  'alert.raised': AlertRaisedEvent;
  'limits.observed': LimitsObservedEvent;
  'limits.reached': LimitReachedEvent;
  'limits.relayed': LimitsUpdateData;
  'bridge.status': BridgeStatusEvent;
  'proxy.budgets_unchecked': BudgetsUncheckedEvent;
}

export type DomainEventName = keyof DomainEventMap;

/** Raises domain events (a typed face of Nest's EventEmitter2). */
@Injectable()
export class DomainEvents {
  constructor(private readonly emitter: EventEmitter2) {}

  emit<K extends DomainEventName>(name: K, payload: DomainEventMap[K]): void {
    this.emitter.emit(name, payload);
  }
}

/** `@OnEvent(name)` whose handler must take the event's payload. */
export function OnDomainEvent<K extends DomainEventName>(name: K) {
  return <T extends (payload: DomainEventMap[K]) => unknown>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): void => {
    OnEvent(name)(target, key, descriptor);
  };
}
