import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { ValidationFailedError } from '../../common/app-error';
import { checkPushEntries } from './push-entries.check';
import { MAX_ENTRIES_PER_PUSH, MAX_TOKENS_PER_ENTRY, PushEntriesDto } from './usage-entries.dto';

// Any instant: the check reads the clock it is given (a day ahead of it is tested below).
const NOW = Date.parse('2026-03-29T00:30:00Z');
const DAY = 86_400_000;

const entry = (i: number): Record<string, unknown> => ({
  ts: NOW - i * 1000,
  model: 'claude-sonnet-4-5-20250929',
  input_tokens: 10 + i,
  output_tokens: 20,
  cache_creation_tokens: 0,
  cache_read_tokens: 5,
  session_id: '-home-me-shop',
  project_path: 'Unknown Project',
  project: '-home-me-shop',
  message_id: `msg_${i}`,
  request_id: `req_${i}`,
});

/** One of Codex's official windows as a push carries it. */
const limit = (changes: Record<string, unknown> = {}): Record<string, unknown> => ({
  agent: 'codex',
  window: 'five_hour',
  used_percentage: 42.5,
  resets_at: Math.floor(NOW / 1000) + 3600,
  observed_at: NOW - 60_000,
  ...changes,
});

/** The fields class-validator (the DTO's declared rules, as the global pipe runs them) refuses. */
async function declared(body: unknown): Promise<string[]> {
  const errors = await validate(plainToInstance(PushEntriesDto, body) as object, {
    whitelist: true,
    forbidNonWhitelisted: true,
  });
  const fields: string[] = [];
  const walk = (list: ValidationError[], prefix: string) => {
    for (const e of list) {
      const field = prefix ? `${prefix}.${e.property}` : e.property;
      if (e.constraints) fields.push(field);
      if (e.children?.length) walk(e.children, field);
    }
  };
  walk(errors, '');
  return [...new Set(fields)].sort();
}

/** The fields the hand-written check refuses. */
function checked(body: unknown): string[] {
  try {
    checkPushEntries(body, NOW);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailedError);
    return [...new Set((error as ValidationFailedError).fieldErrors.map((e) => e.field))].sort();
  }
}

/** One entry changed in one way each: every rule's edges, both sides. */
const MUTATIONS: [string, (e: Record<string, unknown>) => void][] = [
  ['valid', () => undefined],
  ['ts float', (e) => (e.ts = NOW + 0.5)],
  ['ts string', (e) => (e.ts = String(NOW))],
  ['ts 1999', (e) => (e.ts = Date.UTC(1999, 11, 31))],
  ['ts 2000', (e) => (e.ts = Date.UTC(2000, 0, 1))],
  ['ts missing', (e) => delete e.ts],
  ['model long', (e) => (e.model = 'x'.repeat(129))],
  ['model 128', (e) => (e.model = 'x'.repeat(128))],
  ['model empty', (e) => (e.model = '')],
  ['model control', (e) => (e.model = 'a\nb')],
  ['model number', (e) => (e.model = 7)],
  ['model missing', (e) => delete e.model],
  ['speed fast', (e) => (e.speed = 'fast')],
  ['speed bad', (e) => (e.speed = 'warp')],
  ['input negative', (e) => (e.input_tokens = -1)],
  ['input max', (e) => (e.input_tokens = MAX_TOKENS_PER_ENTRY)],
  ['input over', (e) => (e.input_tokens = MAX_TOKENS_PER_ENTRY + 1)],
  ['output float', (e) => (e.output_tokens = 1.5)],
  ['cache read null', (e) => (e.cache_read_tokens = null)],
  ['cache creation missing', (e) => delete e.cache_creation_tokens],
  ['cost ok', (e) => (e.cost_usd = 0.25)],
  ['cost negative', (e) => (e.cost_usd = -0.01)],
  ['cost huge', (e) => (e.cost_usd = 2_000_000)],
  ['cost string', (e) => (e.cost_usd = '1')],
  ['session long', (e) => (e.session_id = 's'.repeat(256))],
  ['session missing', (e) => delete e.session_id],
  ['project path 512', (e) => (e.project_path = 'p'.repeat(512))],
  ['project path 513', (e) => (e.project_path = 'p'.repeat(513))],
  ['project tab', (e) => (e.project = 'a\tb')],
  ['claude session ok', (e) => (e.claude_session = 'abc-123')],
  ['claude session long', (e) => (e.claude_session = 'c'.repeat(129))],
  ['message id control', (e) => (e.message_id = '\u0000')],
  ['request id number', (e) => (e.request_id = 5)],
  ['no message id', (e) => delete e.message_id],
  [
    'no ids, placed',
    (e) => (delete e.message_id, delete e.request_id, (e.file = 'a/b.jsonl'), (e.offset = 0)),
  ],
  ['no ids, file only', (e) => (delete e.request_id, (e.file = 'a/b.jsonl'))],
  ['ids and place', (e) => ((e.file = 'a/b.jsonl'), (e.offset = 12))],
  ['offset negative', (e) => ((e.file = 'a/b.jsonl'), (e.offset = -1))],
  ['offset float', (e) => ((e.file = 'a/b.jsonl'), (e.offset = 1.5))],
  ['file long', (e) => ((e.file = 'f'.repeat(1025)), (e.offset = 1))],
  ['file number', (e) => ((e.file = 3), (e.offset = 1))],
  ['cache 1h', (e) => (e.cache_creation_1h_tokens = 0)],
  ['cache 1h float', (e) => (e.cache_creation_1h_tokens = 0.5)],
  ['cache 1h over', (e) => (e.cache_creation_1h_tokens = MAX_TOKENS_PER_ENTRY + 1)],
  ['sidechain', (e) => (e.sidechain = true)],
  ['sidechain string', (e) => (e.sidechain = 'yes')],
  [
    'earlier offsets',
    (e) => ((e.file = 'a/b.jsonl'), (e.offset = 90), (e.earlier_offsets = [0, 45])),
  ],
  ['earlier offsets without place', (e) => (e.earlier_offsets = [0])],
  [
    'earlier offsets 65',
    (e) => ((e.file = 'a/b.jsonl'), (e.offset = 9), (e.earlier_offsets = Array(65).fill(1))),
  ],
  [
    'earlier offsets 64',
    (e) => ((e.file = 'a/b.jsonl'), (e.offset = 9), (e.earlier_offsets = Array(64).fill(1))),
  ],
  [
    'earlier offset negative',
    (e) => ((e.file = 'a/b.jsonl'), (e.offset = 9), (e.earlier_offsets = [-1])),
  ],
  [
    'earlier offsets not a list',
    (e) => ((e.file = 'a/b.jsonl'), (e.offset = 9), (e.earlier_offsets = 3)),
  ],
  [
    'another agent’s event',
    (e) => (
      (e.agent = 'codex'),
      (e.event_key = 'k'),
      (e.cost_usd = 0.1),
      delete e.message_id,
      delete e.request_id
    ),
  ],
  ['another agent without its key', (e) => ((e.agent = 'codex'), (e.cost_usd = 0.1))],
  ['another agent without its cost', (e) => ((e.agent = 'gemini'), (e.event_key = 'k'))],
  ['an unknown agent', (e) => (e.agent = 'cursor')],
  ['reasoning negative', (e) => (e.reasoning_tokens = -1)],
  ['extra too many', (e) => (e.extra_tokens = MAX_TOKENS_PER_ENTRY + 1)],
  ['unknown field', (e) => (e.surprise = true)],
  ['two unknown', (e) => ((e.a = 1), (e.b = 2))],
];

describe('checkPushEntries (the hand-written push check)', () => {
  it.each(MUTATIONS)('agrees with the DTO’s declared rules: %s', async (_name, mutate) => {
    const changed = entry(1);
    mutate(changed);
    const body = { machine: 'laptop', member: 'alice', entries: [entry(0), changed] };
    const expected = await declared(body);
    expect(checked(body)).toEqual(expected);
  });

  it.each([
    ['valid', { machine: 'laptop', entries: [entry(0)] }],
    ['machine bad', { machine: 'my laptop', entries: [entry(0)] }],
    ['machine long', { machine: 'm'.repeat(129), entries: [entry(0)] }],
    ['machine missing', { entries: [entry(0)] }],
    ['member bad', { machine: 'laptop', member: '-x', entries: [entry(0)] }],
    ['entries empty', { machine: 'laptop', entries: [] }],
    ['entries not a list', { machine: 'laptop', entries: 'many' }],
    ['entries missing', { machine: 'laptop' }],
    [
      'too many',
      {
        machine: 'laptop',
        entries: Array.from({ length: MAX_ENTRIES_PER_PUSH + 1 }, (_, i) => entry(i)),
      },
    ],
    [
      'the most',
      {
        machine: 'laptop',
        entries: Array.from({ length: MAX_ENTRIES_PER_PUSH }, (_, i) => entry(i)),
      },
    ],
    ['unknown top field', { machine: 'laptop', entries: [entry(0)], extra: 1 }],
    ['Codex’s windows', { machine: 'laptop', entries: [entry(0)], limits: [limit()] }],
    [
      'only windows',
      { machine: 'laptop', entries: [], limits: [limit(), limit({ window: 'seven_day' })] },
    ],
    [
      'a window of no kind',
      { machine: 'laptop', entries: [], limits: [limit({ window: 'hour' })] },
    ],
    [
      'a percentage past 100',
      { machine: 'laptop', entries: [entry(0)], limits: [limit({ used_percentage: 101 })] },
    ],
    [
      'resets in ms',
      { machine: 'laptop', entries: [entry(0)], limits: [limit({ resets_at: NOW })] },
    ],
    [
      'Claude’s window pushed',
      { machine: 'laptop', entries: [entry(0)], limits: [limit({ agent: 'claude' })] },
    ],
    ['a field too many', { machine: 'laptop', entries: [entry(0)], limits: [limit({ x: 1 })] }],
    ['limits not a list', { machine: 'laptop', entries: [entry(0)], limits: 'all' }],
    [
      'too many windows',
      { machine: 'laptop', entries: [], limits: Array.from({ length: 9 }, () => limit()) },
    ],
  ])('agrees on the body: %s', async (_name, body) => {
    expect(checked(body)).toEqual(await declared(body));
  });

  it('lists every bad field of every entry at once, with a message each', () => {
    const body = {
      machine: 'laptop',
      entries: [
        { ...entry(0), input_tokens: -1, model: 'x'.repeat(129) },
        { ...entry(1), ts: NOW + 3 * DAY },
        { ...entry(2), message_id: undefined },
      ],
    };
    let error: ValidationFailedError | undefined;
    try {
      checkPushEntries(body, NOW);
    } catch (e) {
      error = e as ValidationFailedError;
    }
    expect(error?.fieldErrors.map((e) => e.field)).toEqual([
      'entries.0.input_tokens',
      'entries.0.model',
      'entries.1.ts',
      'entries.2.file',
      'entries.2.offset',
    ]);
    expect(error?.fieldErrors.every((e) => e.message.length > 10)).toBe(true);
  });

  it('counts "a day ahead" from the clock it is given, not the wall clock', () => {
    const body = { machine: 'laptop', entries: [{ ...entry(0), ts: NOW + 2 * DAY }] };
    expect(() => checkPushEntries(body, NOW)).toThrow(ValidationFailedError);
    expect(checkPushEntries(body, NOW + 1.5 * DAY).entries).toHaveLength(1);
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'text', 3]) expect(checked(body)).toEqual(['body']);
  });
});
