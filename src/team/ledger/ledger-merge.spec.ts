import { describe, expect, it } from 'vitest';
import { compareLines, type MergeLine, planMerge } from './ledger-merge';

interface Line extends MergeLine {
  readonly name: string;
}

const line = (name: string, output: number, extra: Partial<Line> = {}): Line => ({
  name,
  sidechain: false,
  source: 'push',
  inputTokens: 10,
  outputTokens: output,
  cacheCreationTokens: 0,
  cacheReadTokens: 100,
  ...extra,
});
const input = (
  l: Line,
  hash: string,
  ids: { request?: string; message?: string; legacy?: string[] } = {},
) => ({
  line: l,
  hash,
  legacy: ids.legacy ?? [],
  requestId: ids.request ?? null,
  messageId: ids.message ?? null,
});
const stored = (id: number, ...args: Parameters<typeof input>) => ({ id, ...input(...args) });
const names = (items: readonly { line: Line }[]) => items.map((i) => i.line.name);

describe('compareLines (ccusage 20: which line of a request is kept)', () => {
  it('main chain over side chain, then the larger total, then a log line over OTLP', () => {
    expect(compareLines(line('a', 5), line('b', 900, { sidechain: true }))).toBeGreaterThan(0);
    expect(compareLines(line('a', 5), line('b', 6))).toBeLessThan(0);
    expect(compareLines(line('a', 5), line('b', 5, { source: 'otlp' }))).toBeGreaterThan(0);
    expect(compareLines(line('a', 5), line('b', 5, { source: 'local' }))).toBe(0);
  });
});

describe('planMerge (what a batch does to the ledger)', () => {
  it('stores a new request, and of its lines in one batch the best', () => {
    const plan = planMerge(
      [
        input(line('partial', 3), 'k1'),
        input(line('billed', 700), 'k1'),
        input(line('x', 1), 'k2'),
      ],
      [],
    );
    expect(names(plan.insert)).toEqual(['billed', 'x']);
    expect(plan.remove).toEqual([]);
  });

  it('a larger line replaces the stored one; a smaller or equal one is a duplicate', () => {
    const held = [stored(7, line('stored', 50), 'k1')];
    const larger = planMerge([input(line('billed', 700), 'k1')], held);
    expect(names(larger.insert)).toEqual(['billed']);
    expect(names(larger.remove)).toEqual(['stored']);
    expect(larger.replaced).toEqual(new Map([['k1', 1]]));
    for (const output of [3, 50]) {
      const plan = planMerge([input(line('other', output), 'k1')], held);
      expect(plan.insert).toEqual([]);
      expect(plan.remove).toEqual([]);
    }
  });

  it('an OTLP event and a log line of one request id meet: larger wins, a tie goes to the line', () => {
    const otlp = stored(1, line('otlp', 700, { source: 'otlp' }), 'o1', { request: 'r1' });
    const tie = planMerge([input(line('line', 700), 'm1', { request: 'r1' })], [otlp]);
    expect([names(tie.insert), names(tie.remove)]).toEqual([['line'], ['otlp']]);
    const partial = stored(2, line('partial', 3), 'm1', { request: 'r1' });
    const event = planMerge(
      [input(line('event', 700, { source: 'otlp' }), 'o1', { request: 'r1' })],
      [partial],
    );
    expect([names(event.insert), names(event.remove)]).toEqual([['event'], ['partial']]);
  });

  it('a side-chain replay joins its message: the main chain wins whichever came first', () => {
    const side = line('replay', 9000, { sidechain: true });
    const main = line('main', 5);
    const mainLater = planMerge(
      [input(main, 'k-main', { request: 'r1', message: 'm1' })],
      [stored(3, side, 'k-side', { request: 'r-btw', message: 'm1' })],
    );
    expect([names(mainLater.insert), names(mainLater.remove)]).toEqual([['main'], ['replay']]);
    const replayLater = planMerge(
      [input(side, 'k-side', { request: 'r-btw', message: 'm1' })],
      [stored(4, main, 'k-main', { request: 'r1', message: 'm1' })],
    );
    expect([replayLater.insert, replayLater.remove]).toEqual([[], []]);
  });

  it('two main-chain lines of one message under two request ids are two requests', () => {
    const plan = planMerge(
      [
        input(line('first', 5), 'k1', { request: 'r1', message: 'm1' }),
        input(line('second', 6), 'k2', { request: 'r2', message: 'm1' }),
      ],
      [],
    );
    expect(names(plan.insert)).toEqual(['first', 'second']);
  });

  it('rows stored under earlier rules meet a line through its legacy keys, and only one stays', () => {
    const plan = planMerge(
      [input(line('again', 700), 'k-msg', { message: 'm1', legacy: ['l0', 'l1', 'l2'] })],
      [
        stored(1, line('part 1', 3), 'l0'),
        stored(2, line('part 2', 5), 'l1'),
        stored(3, line('billed', 700), 'l2'),
      ],
    );
    expect(plan.insert).toEqual([]);
    expect(names(plan.remove)).toEqual(['part 1', 'part 2']);
    expect(plan.replaced).toEqual(new Map([['k-msg', 2]]));
  });
});
