import { EventEmitter2 } from '@nestjs/event-emitter';
import { DomainEvents } from '../common/domain-events';
import { describe, expect, it, vi } from 'vitest';
import { BRIDGE_STATUS_EVENT, type BridgeStatusEvent } from './bridge-status.event';
import { BridgeStatusPublisher } from './bridge-status.publisher';

describe('BridgeStatusPublisher', () => {
  it('publishes bridge.status once per change of health, state or circuit', () => {
    const events = new DomainEvents(new EventEmitter2());
    const emit = vi.spyOn(events, 'emit');
    const publisher = new BridgeStatusPublisher(events, () => Date.now());
    publisher.update({ state: 'starting' });
    publisher.update({ state: 'starting' });
    publisher.update({ state: 'ready', healthy: true });
    publisher.update({ healthy: true, reason: 'a new reason alone is not a transition' });
    publisher.update({ circuit: 'open' });
    publisher.update({ circuit: 'open' });
    publisher.update({ healthy: false, reason: 'ECONNREFUSED' });
    expect(emit).toHaveBeenCalledTimes(4);
    expect(emit.mock.calls.map(([name]) => name)).toEqual(Array(4).fill(BRIDGE_STATUS_EVENT));
    const published = emit.mock.calls.map(([, e]) => e as BridgeStatusEvent);
    expect(published.map((e) => [e.state, e.healthy, e.circuit])).toEqual([
      ['starting', false, 'closed'],
      ['ready', true, 'closed'],
      ['ready', true, 'open'],
      ['ready', false, 'open'],
    ]);
    expect(published[3].reason).toBe('ECONNREFUSED');
  });
});
