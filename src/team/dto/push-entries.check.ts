import { PipeTransform, Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../../common/clock';
import type { FieldError } from '../../common/problem-details';
import { ValidationFailedError } from '../../common/app-error';
import { MEMBER_NAME, MEMBER_NAME_RULE } from '../members/team-member.entity';
import { PUSH_LIMITS, type PushTextField } from './push-limits';
import { AGENTS } from '../../usage/agents';
import { LIMIT_WINDOWS } from '../../limits/limit-observation.entity';
import {
  MAX_AHEAD_MS,
  MAX_COST_USD,
  MAX_EARLIER_OFFSETS,
  MAX_ENTRIES_PER_PUSH,
  MAX_PUSHED_LIMITS,
  MAX_TOKENS_PER_ENTRY,
  MIN_ENTRY_TS,
  type PushedEntryDto,
  type PushedLimitDto,
  type PushEntriesDto,
} from './usage-entries.dto';

/** What a push carries once checked (the shape PushEntriesDto documents). */
export type PushEntries = Pick<PushEntriesDto, 'machine' | 'member'> & {
  entries: PushedEntryDto[];
  limits?: PushedLimitDto[];
};

// Control characters are what is refused here.
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]+$/;
const MACHINE = /^[\w.@:-]+$/;
const MAX_FILE = PUSH_LIMITS.text_fields.file;
const COUNTS = ['input_tokens', 'output_tokens', 'cache_creation_tokens', 'cache_read_tokens'];
/** Printable text fields of an entry: required or not, and their longest length. */
const TEXTS: readonly [name: PushTextField, required: boolean, max: number][] = (
  [
    ['model', true],
    ['session_id', true],
    ['project_path', true],
    ['project', true],
    ['claude_session', false],
    ['message_id', false],
    ['request_id', false],
    ['event_key', false],
  ] as const
).map(([name, required]) => [name, required, PUSH_LIMITS.text_fields[name]]);
const EXTRA_COUNTS = ['reasoning_tokens', 'extra_tokens'];
const ENTRY_FIELDS = new Set([
  'agent',
  ...EXTRA_COUNTS,
  'ts',
  'speed',
  'cost_usd',
  'file',
  'offset',
  'sidechain',
  'earlier_offsets',
  'cache_creation_1h_tokens',
  ...COUNTS,
  ...TEXTS.map(([name]) => name),
]);
const BODY_FIELDS = new Set(['machine', 'member', 'entries', 'limits']);
const LIMIT_FIELDS = new Set(['agent', 'window', 'used_percentage', 'resets_at', 'observed_at']);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isInt = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value);

/**
 * Checks a push (`POST /api/usage/entries`) by the rules PushEntriesDto declares, listing every
 * bad field as the global validation pipe does. Written out by hand because a push carries up to
 * 1,000 entries: class-validator took ~7 ms of the event loop per 100 entries, and the team
 * benchmark's bursts of pushes held OTLP exports up behind it. `push-entries.check.spec.ts`
 * holds both to the same verdicts.
 */
export function checkPushEntries(body: unknown, now: number): PushEntries {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  if (!isObject(body)) {
    fail('body', 'the body must be a JSON object');
    throw new ValidationFailedError(errors);
  }
  for (const key of Object.keys(body))
    if (!BODY_FIELDS.has(key)) fail(key, `property ${key} should not exist`);
  const machine = body.machine;
  if (typeof machine !== 'string' || machine.length > 128)
    fail('machine', 'machine must be a string of at most 128 characters');
  else if (!MACHINE.test(machine))
    fail('machine', 'machine may contain only letters, digits and _ . @ : -');
  if (
    body.member !== undefined &&
    (typeof body.member !== 'string' || !MEMBER_NAME.test(body.member))
  )
    fail('member', `member: ${MEMBER_NAME_RULE}`);
  const limits = body.limits;
  if (limits !== undefined) {
    if (!Array.isArray(limits)) fail('limits', 'limits must be an array');
    else if (limits.length > MAX_PUSHED_LIMITS)
      fail('limits', `limits must contain no more than ${MAX_PUSHED_LIMITS} elements`);
    else limits.forEach((limit, i) => checkLimit(limit, `limits.${i}`, now, fail));
  }
  const entries = body.entries;
  const onlyLimits = Array.isArray(limits) && limits.length > 0;
  if (!Array.isArray(entries)) fail('entries', 'entries must be an array');
  else if (entries.length < 1 && !onlyLimits)
    fail('entries', 'entries must contain at least 1 elements');
  else if (entries.length > MAX_ENTRIES_PER_PUSH)
    fail('entries', `entries must contain no more than ${MAX_ENTRIES_PER_PUSH} elements`);
  else entries.forEach((entry, i) => checkEntry(entry, `entries.${i}`, now, fail));
  if (errors.length) throw new ValidationFailedError(errors);
  return body as PushEntries;
}

function checkLimit(
  limit: unknown,
  at: string,
  now: number,
  fail: (field: string, message: string) => void,
): void {
  if (!isObject(limit)) {
    fail(at, 'each value in limits must be an object');
    return;
  }
  for (const key of Object.keys(limit))
    if (!LIMIT_FIELDS.has(key)) fail(`${at}.${key}`, `property ${key} should not exist`);
  if (limit.agent !== 'codex')
    fail(`${at}.agent`, 'agent must be one of the following values: codex');
  if (!(LIMIT_WINDOWS as readonly unknown[]).includes(limit.window))
    fail(`${at}.window`, `window must be one of the following values: ${LIMIT_WINDOWS.join(', ')}`);
  const used = limit.used_percentage;
  if (typeof used !== 'number' || !Number.isFinite(used) || used < 0 || used > 100)
    fail(`${at}.used_percentage`, 'used_percentage must be a number from 0 to 100');
  const resets = limit.resets_at;
  if (!isInt(resets) || resets < 1_500_000_000 || resets > 4_000_000_000)
    fail(`${at}.resets_at`, 'resets_at must be epoch seconds from 1500000000 to 4000000000');
  const observed = limit.observed_at;
  if (!isInt(observed) || observed < MIN_ENTRY_TS || observed > now + MAX_AHEAD_MS)
    fail(`${at}.observed_at`, 'observed_at must be epoch ms from 2000 to a day ahead');
}

function checkEntry(
  entry: unknown,
  at: string,
  now: number,
  fail: (field: string, message: string) => void,
): void {
  if (!isObject(entry)) {
    fail(at, 'each value in entries must be an object');
    return;
  }
  for (const key of Object.keys(entry))
    if (!ENTRY_FIELDS.has(key)) fail(`${at}.${key}`, `property ${key} should not exist`);
  const ts = entry.ts;
  if (!isInt(ts)) fail(`${at}.ts`, 'ts must be an integer number');
  else if (ts < MIN_ENTRY_TS) fail(`${at}.ts`, `ts must not be less than ${MIN_ENTRY_TS}`);
  else if (ts > now + MAX_AHEAD_MS)
    fail(`${at}.ts`, 'ts is more than a day ahead of the gateway’s clock');
  for (const name of COUNTS) {
    const value = entry[name];
    if (!isInt(value) || value < 0 || value > MAX_TOKENS_PER_ENTRY)
      fail(`${at}.${name}`, `${name} must be an integer from 0 to ${MAX_TOKENS_PER_ENTRY}`);
  }
  const agent = entry.agent;
  if (agent !== undefined && !(AGENTS as readonly unknown[]).includes(agent))
    fail(`${at}.agent`, `agent must be one of the following values: ${AGENTS.join(', ')}`);
  const other = agent !== undefined && agent !== 'claude';
  for (const name of EXTRA_COUNTS) {
    const value = entry[name];
    if (value !== undefined && (!isInt(value) || value < 0 || value > MAX_TOKENS_PER_ENTRY))
      fail(`${at}.${name}`, `${name} must be an integer from 0 to ${MAX_TOKENS_PER_ENTRY}`);
  }
  if (other && entry.event_key === undefined)
    fail(`${at}.event_key`, 'event_key is required for an entry of another agent than claude');
  if (other && entry.cost_usd === undefined)
    fail(`${at}.cost_usd`, 'cost_usd is required for an entry of another agent than claude');
  const hour = entry.cache_creation_1h_tokens;
  if (hour !== undefined && (!isInt(hour) || hour < 0 || hour > MAX_TOKENS_PER_ENTRY))
    fail(
      `${at}.cache_creation_1h_tokens`,
      `cache_creation_1h_tokens must be an integer from 0 to ${MAX_TOKENS_PER_ENTRY}`,
    );
  if (entry.speed !== undefined && entry.speed !== 'standard' && entry.speed !== 'fast')
    fail(`${at}.speed`, 'speed must be one of the following values: standard, fast');
  const cost = entry.cost_usd;
  if (
    cost !== undefined &&
    (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0 || cost > MAX_COST_USD)
  )
    fail(`${at}.cost_usd`, `cost_usd must be a number from 0 to ${MAX_COST_USD}`);
  for (const [name, required, max] of TEXTS) {
    const value = entry[name];
    if (value === undefined && !required) continue;
    if (typeof value !== 'string' || value.length > max || !PRINTABLE.test(value))
      fail(`${at}.${name}`, `${name} must be printable text of at most ${max} characters`);
  }
  if (entry.sidechain !== undefined && typeof entry.sidechain !== 'boolean')
    fail(`${at}.sidechain`, 'sidechain must be a boolean value');
  const earlier = entry.earlier_offsets;
  if (earlier !== undefined) {
    if (!Array.isArray(earlier)) fail(`${at}.earlier_offsets`, 'earlier_offsets must be an array');
    else if (earlier.length > MAX_EARLIER_OFFSETS || earlier.some((o) => !isInt(o) || o < 0))
      fail(
        `${at}.earlier_offsets`,
        `earlier_offsets must hold at most ${MAX_EARLIER_OFFSETS} integers of at least 0`,
      );
  }
  // A line without a message id is keyed by its file and offset (and earlier_offsets name places
  // in that file): then both are required.
  const byPlace = (!entry.message_id && !other) || earlier !== undefined;
  const required = 'is required for a line without message_id, or with earlier_offsets';
  if (byPlace || entry.file !== undefined) {
    const file = entry.file;
    if (file === undefined) fail(`${at}.file`, `file (and offset) ${required}`);
    else if (typeof file !== 'string' || file.length > MAX_FILE || !PRINTABLE.test(file))
      fail(`${at}.file`, `file must be printable text of at most ${MAX_FILE} characters`);
  }
  if (byPlace || entry.offset !== undefined) {
    const offset = entry.offset;
    if (offset === undefined) fail(`${at}.offset`, `offset (and file) ${required}`);
    else if (!isInt(offset) || offset < 0)
      fail(`${at}.offset`, 'offset must be an integer of at least 0');
  }
}

/** `@Body(PushEntriesPipe)`: checkPushEntries with the gateway's clock. */
@Injectable()
export class PushEntriesPipe implements PipeTransform<unknown, PushEntries> {
  constructor(@Inject(CLOCK) private readonly now: Clock) {}

  transform(value: unknown): PushEntries {
    return checkPushEntries(value, this.now());
  }
}
