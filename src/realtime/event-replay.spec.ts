import { fake } from '../../test/support/fake';
import { describe, expect, it } from 'vitest';
import type { HookEventDto } from '../events/dto/hook-event.dto';
import type { EventsService } from '../events/events.service';
import { EventReplay } from './event-replay';

const ev = (id: number) => ({ id, session_id: 's' }) as HookEventDto;

/** A store whose reads can be held, to interleave broadcasts with them. */
function fakeEvents(stored: HookEventDto[]) {
  const gates: Array<() => void> = [];
  const service = {
    lastId: async () => stored.at(-1)?.id ?? 0,
    between: async (after: number, upTo: number, limit: number) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      return stored.filter((e) => e.id > after && e.id <= upTo).slice(0, limit);
    },
  };
  return { service: fake<EventsService>(service), release: () => gates.shift()?.() };
}

describe('EventReplay', () => {
  it('delivers stored events, then those broadcast meanwhile, exactly once, then joins', async () => {
    const stored = [1, 2, 3, 4, 5].map(ev);
    const { service, release } = fakeEvents(stored);
    const replay = new EventReplay(service);
    await replay.onApplicationBootstrap();
    const got: number[] = [];
    let joinedAfter = -1;
    const done = replay.replay(
      'sock',
      async () => {
        // 6 and 7 commit and are broadcast while the snapshot is read: the replay read will
        // return them and the buffer holds them too; each must be sent once.
        stored.push(ev(6), ev(7));
        replay.broadcasted(ev(6));
        replay.broadcasted(ev(7));
        return 2;
      },
      (e) => got.push(e.id),
      () => (joinedAfter = got.length),
      () => false,
    );
    await new Promise((r) => setTimeout(r, 0));
    // 8 is broadcast while the read of (2, 7] is in flight: it is only in the buffer.
    stored.push(ev(8));
    replay.broadcasted(ev(8));
    release();
    expect(await done).toBe(6);
    expect(got).toEqual([3, 4, 5, 6, 7, 8]);
    expect(joinedAfter).toBe(5);
    // After the join the buffer is gone: live events are the rooms' business.
    replay.broadcasted(ev(9));
    expect(got).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it('stops without joining when the socket left', async () => {
    const { service, release } = fakeEvents([ev(1), ev(2)]);
    const replay = new EventReplay(service);
    await replay.onApplicationBootstrap();
    let gone = false;
    let joined = false;
    const done = replay.replay(
      's',
      async () => 0,
      () => undefined,
      () => (joined = true),
      () => gone,
    );
    await new Promise((r) => setTimeout(r, 0));
    gone = true;
    release();
    expect(await done).toBe(0);
    expect(joined).toBe(false);
  });
});
