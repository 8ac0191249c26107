import { CLOCK, type Clock } from '../common/clock';
import { Inject, Injectable } from '@nestjs/common';
import {
  BRIDGE_STATUS_EVENT,
  type BridgeStatusEvent,
  type CircuitStateName,
  type SupervisorState,
} from './bridge-status.event';
import { DomainEvents } from '../common/domain-events';

interface Parts {
  healthy: boolean;
  state: SupervisorState;
  circuit: CircuitStateName;
  reason: string | null;
}

/**
 * Collects the bridge's health, supervisor state and primary breaker state, and publishes
 * `bridge.status` exactly once per change, whichever part changed.
 */
@Injectable()
export class BridgeStatusPublisher {
  private parts: Parts = { healthy: false, state: 'idle', circuit: 'closed', reason: null };
  private last: BridgeStatusEvent | undefined;

  constructor(
    private readonly events: DomainEvents,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  update(change: Partial<Parts>): void {
    this.parts = { ...this.parts, ...change };
    const { healthy, state, circuit, reason } = this.parts;
    if (
      this.last &&
      this.last.healthy === healthy &&
      this.last.state === state &&
      this.last.circuit === circuit
    ) {
      return;
    }
    this.last = { healthy, state, circuit, reason, timestamp: this.now() };
    this.events.emit(BRIDGE_STATUS_EVENT, this.last);
  }

  current(): BridgeStatusEvent | undefined {
    return this.last;
  }
}
