import { MAX_AHEAD_MS, MAX_TOKENS_PER_ENTRY, MIN_ENTRY_TS } from '../dto/usage-entries.dto';
import type { OtlpApiRequest } from '../ledger/otlp-api-request';
import { sha256Hex } from '../../common/sha256-hex';
import {
  amountOf,
  attributesOf,
  countOf,
  nanosToMs,
  type Scalar,
  stringOf,
} from './otlp-attributes';

/*
 * What an OTLP export request holds that the ledger keeps, without touching a database: Claude
 * Code's `claude_code.api_request` log events as ledger requests, its counters' data points as
 * points to count. Each thing that cannot be kept is named (and counted) in `problems`.
 */

/** Claude Code's counters kept per member per minute (without the `claude_code.` prefix). */
export const CLAUDE_CODE_METRICS = new Set([
  'token.usage',
  'cost.usage',
  'session.count',
  'lines_of_code.count',
  'commit.count',
  'pull_request.count',
  'active_time.total',
  'code_edit_tool.decision',
]);
/** Gemini CLI's counters kept the same way (with their `gemini_cli.` prefix). */
export const GEMINI_CLI_METRICS = new Set([
  'gemini_cli.token.usage',
  'gemini_cli.api.request.count',
]);
/** The attributes that tell a counter's series apart (e.g. token.usage by type and model). */
const LABEL_KEYS = ['type', 'model', 'tool_name', 'decision', 'status_code'] as const;
/** Attributes worth keeping beside a ledger row (who, which organization, which team). */
const KEPT_ATTRIBUTES = [
  'user.email',
  'user.account_uuid',
  'user.account_id',
  'organization.id',
  'app.version',
  'terminal.type',
];
/** Besides those, resource attributes (OTEL_RESOURCE_ATTRIBUTES: team.id, cost_center, …) kept. */
const MAX_KEPT = 16;
const NOT_KEPT_PREFIXES = ['service.', 'telemetry.', 'host.', 'os.', 'process.'];
const MINUTE_MS = 60_000;

/** One counter data point, identified (its key) and placed (its series, minute and label). */
export interface Point {
  readonly key: string;
  readonly series: string;
  readonly metric: string;
  readonly label: string;
  readonly minute: number;
  readonly value: number;
  readonly cumulative: boolean;
  readonly startNs: string;
  readonly timeNs: string;
}

export interface Decoded<T> {
  readonly items: T[];
  /** Why some were left out, each reason with how many times. */
  readonly problems: Map<string, number>;
}

export interface ReceiveResult {
  readonly accepted: number;
  readonly rejected: number;
  /** Why some were rejected (empty when none were). */
  readonly message: string;
}

/** The `claude_code.api_request` events of an ExportLogsServiceRequest (JSON or decoded). */
export function decodeLogs(request: Record<string, unknown>, now: number): Decoded<OtlpApiRequest> {
  const problems = new Map<string, number>();
  const items: OtlpApiRequest[] = [];
  for (const resourceLogs of list(request.resourceLogs)) {
    const resource = attributesOf(field(resourceLogs, 'resource')?.attributes);
    for (const scopeLogs of list(field(resourceLogs, 'scopeLogs'))) {
      for (const record of list(field(scopeLogs, 'logRecords'))) {
        const attributes = attributesOf(field(record, 'attributes'));
        const name = eventName(record, attributes);
        const parsed =
          name === 'api_request' || name === 'claude_code.api_request'
            ? apiRequest(attributes, resource, record, now)
            : name === 'codex.sse_event' && attributes['event.kind'] === 'response.completed'
              ? codexCompleted(attributes, resource, record, now)
              : name === 'gemini_cli.api_response'
                ? geminiResponse(attributes, resource, record, now)
                : undefined;
        if (parsed === undefined) continue;
        // Bytes that were not UTF-8 decode to U+FFFD: such a record is refused, not guessed at.
        if (typeof parsed !== 'string' && Object.values(attributes).some(notUtf8))
          count(problems, `${name} with text that is not UTF-8`);
        else if (typeof parsed === 'string') count(problems, parsed);
        else items.push(parsed);
      }
    }
  }
  return { items, problems };
}

/** The data points of Claude Code's counters (CLAUDE_CODE_METRICS) and Gemini CLI's
 * (GEMINI_CLI_METRICS) in an ExportMetricsServiceRequest. */
export function decodeMetrics(
  member: string,
  request: Record<string, unknown>,
  now: number,
): Decoded<Point> {
  const problems = new Map<string, number>();
  const items: Point[] = [];
  for (const resourceMetrics of list(request.resourceMetrics)) {
    for (const scopeMetrics of list(field(resourceMetrics, 'scopeMetrics'))) {
      for (const metric of list(field(scopeMetrics, 'metrics'))) {
        const name = typeof metric.name === 'string' ? metric.name : '';
        // Claude Code's without their prefix (as they were first kept), Gemini CLI's with it.
        const short = name.startsWith('claude_code.') ? name.slice('claude_code.'.length) : name;
        if (!CLAUDE_CODE_METRICS.has(short) && !GEMINI_CLI_METRICS.has(name)) continue;
        const sum = field(metric, 'sum');
        if (!sum) continue;
        const cumulative = Number(sum.aggregationTemporality) === 2;
        for (const dataPoint of list(sum.dataPoints)) {
          const point = pointOf(member, short, cumulative, dataPoint, now);
          if (typeof point === 'string') count(problems, point);
          else items.push(point);
        }
      }
    }
  }
  return { items, problems };
}

/** The answer's figures: what was kept, what was not and why. */
export function receiveResult(accepted: number, problems: Map<string, number>): ReceiveResult {
  const rejected = [...problems.values()].reduce((a, b) => a + b, 0);
  const message = [...problems.entries()].map(([why, n]) => `${n} × ${why}`).join('; ');
  return { accepted, rejected, message };
}

const notUtf8 = (value: Scalar) => typeof value === 'string' && value.includes('\uFFFD');

function count(problems: Map<string, number>, why: string): void {
  problems.set(why, (problems.get(why) ?? 0) + 1);
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? (value.filter((v) => typeof v === 'object' && v !== null) as Record<string, unknown>[])
    : [];
}

function field(object: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const value = object[name];
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)
    : undefined;
}

/** An api_request event's ledger fields, or why it cannot be one. */
function apiRequest(
  attributes: Record<string, Scalar>,
  resource: Record<string, Scalar>,
  record: Record<string, unknown>,
  now: number,
): OtlpApiRequest | string {
  const model = stringOf(attributes.model);
  if (!model) return 'api_request without a model';
  const counts = [
    countOf(attributes.input_tokens ?? 0, MAX_TOKENS_PER_ENTRY),
    countOf(attributes.output_tokens ?? 0, MAX_TOKENS_PER_ENTRY),
    countOf(attributes.cache_creation_tokens ?? 0, MAX_TOKENS_PER_ENTRY),
    countOf(attributes.cache_read_tokens ?? 0, MAX_TOKENS_PER_ENTRY),
  ];
  if (counts.some((c) => c === undefined))
    return `api_request token counts must be integers from 0 to ${MAX_TOKENS_PER_ENTRY}`;
  const ts = eventTime(record, attributes);
  if (!ts || ts < MIN_ENTRY_TS || ts > now + MAX_AHEAD_MS)
    return 'api_request without a time from 2000 to a day ahead';
  const requestId = stringOf(attributes.request_id);
  const session = stringOf(attributes['session.id']);
  const sequence = attributes['event.sequence'];
  const client = stringOf(attributes.client_request_id);
  // The request id is what the transcript's line has too; without one, the client's id, else the
  // event's place in its session identifies it.
  const key = requestId
    ? `o\u0000${requestId}`
    : client
      ? `c\u0000${client}`
      : session && sequence !== undefined
        ? `s\u0000${session}\u0000${String(sequence)}`
        : undefined;
  if (!key)
    return 'api_request without request_id, client_request_id or session.id + event.sequence';
  return {
    agent: 'claude',
    key,
    requestId: requestId ?? null,
    session: session ?? null,
    machine: machineOf(resource, attributes),
    model,
    fast: attributes.speed === 'fast',
    ts,
    counts: counts as [number, number, number, number],
    reasoning: 0,
    extra: 0,
    reportedCostUsd: amountOf(attributes.cost_usd, 1_000_000) ?? null,
    attributes: keptOf(resource, attributes),
  };
}

const machineOf = (resource: Record<string, Scalar>, attributes: Record<string, Scalar>) => {
  const host = stringOf(resource['host.name'] ?? attributes['host.name'], 128);
  return host ? host.replace(/[^\w.@:-]/g, '-') : 'otlp';
};

/** The attributes kept beside a row (who, which organization, which team, which version). */
function keptOf(
  resource: Record<string, Scalar>,
  attributes: Record<string, Scalar>,
): Record<string, string> | null {
  const kept: Record<string, string> = {};
  for (const name of KEPT_ATTRIBUTES) {
    const value = stringOf(attributes[name] ?? resource[name], 200);
    if (value) kept[name] = value;
  }
  const version = stringOf(resource['service.version'], 64);
  if (version && !kept['app.version']) kept['app.version'] = version;
  for (const [name, value] of Object.entries(resource)) {
    if (Object.keys(kept).length >= MAX_KEPT) break;
    if (NOT_KEPT_PREFIXES.some((p) => name.startsWith(p)) || name in kept) continue;
    const text = stringOf(value, 200);
    if (text) kept[name] = text;
  }
  return Object.keys(kept).length ? kept : null;
}

/** An event's name, however the SDK carried it (an `event.name` attribute, the record's event
 * name, or its body). */
function eventName(record: Record<string, unknown>, attributes: Record<string, Scalar>): string {
  const named = attributes['event.name'];
  if (typeof named === 'string') return named;
  if (typeof record.eventName === 'string') return record.eventName;
  const body = field(record, 'body')?.stringValue;
  return typeof body === 'string' ? body : '';
}

/** When an event happened: its `event.timestamp`, else the record's time. */
function eventTime(
  record: Record<string, unknown>,
  attributes: Record<string, Scalar>,
): number | undefined {
  const stamp = stringOf(attributes['event.timestamp'], 64);
  return (
    (stamp ? Date.parse(stamp) : NaN) ||
    nanosToMs(record.timeUnixNano) ||
    nanosToMs(record.observedTimeUnixNano)
  );
}

/**
 * Codex's `codex.sse_event` of kind `response.completed` (codex-rs/otel: `input_token_count`
 * includes the cached part, `output_token_count` the reasoning), or why it cannot be a row.
 */
function codexCompleted(
  attributes: Record<string, Scalar>,
  resource: Record<string, Scalar>,
  record: Record<string, unknown>,
  now: number,
): OtlpApiRequest | string {
  const model = stringOf(attributes.model ?? resource.model);
  if (!model) return 'codex.sse_event without a model';
  const conversation = stringOf(attributes['conversation.id'] ?? resource['conversation.id']);
  if (!conversation) return 'codex.sse_event without conversation.id';
  const [input, output, cached, reasoning] = [
    attributes.input_token_count,
    attributes.output_token_count,
    attributes.cached_token_count ?? 0,
    attributes.reasoning_token_count ?? 0,
  ].map((value) => countOf(value ?? 0, MAX_TOKENS_PER_ENTRY));
  if ([input, output, cached, reasoning].some((c) => c === undefined))
    return `codex.sse_event token counts must be integers from 0 to ${MAX_TOKENS_PER_ENTRY}`;
  const ts = eventTime(record, attributes);
  if (!ts || ts < MIN_ENTRY_TS || ts > now + MAX_AHEAD_MS)
    return 'codex.sse_event without a time from 2000 to a day ahead';
  const inTotal = input as number;
  const fromCache = Math.min(cached as number, inTotal);
  return {
    agent: 'codex',
    key: `a\u0000codex\u0000${codexEventKey(conversation, model, inTotal, fromCache, output as number, reasoning as number)}`,
    requestId: null,
    session: conversation,
    machine: machineOf(resource, attributes),
    model,
    fast: false,
    ts,
    counts: [inTotal - fromCache, output as number, 0, fromCache],
    reasoning: reasoning as number,
    extra: 0,
    reportedCostUsd: null,
    attributes: keptOf(resource, attributes),
  };
}

/**
 * Gemini CLI's `gemini_cli.api_response` (packages/core/src/telemetry: `input_token_count`
 * includes `cached_content_token_count`; thoughts and a total above the parts are priced as
 * output, as its chat records are read), or why it cannot be a row.
 */
function geminiResponse(
  attributes: Record<string, Scalar>,
  resource: Record<string, Scalar>,
  record: Record<string, unknown>,
  now: number,
): OtlpApiRequest | string {
  const model = stringOf(attributes.model);
  if (!model) return 'gemini_cli.api_response without a model';
  const session = stringOf(attributes['session.id'] ?? resource['session.id']);
  if (!session) return 'gemini_cli.api_response without session.id';
  const figures = [
    attributes.input_token_count ?? 0,
    attributes.output_token_count ?? 0,
    attributes.cached_content_token_count ?? 0,
    attributes.thoughts_token_count ?? 0,
    attributes.tool_token_count ?? 0,
  ].map((value) => countOf(value, MAX_TOKENS_PER_ENTRY));
  const total =
    attributes.total_token_count === undefined
      ? undefined
      : countOf(attributes.total_token_count, MAX_TOKENS_PER_ENTRY);
  if (
    figures.some((c) => c === undefined) ||
    (attributes.total_token_count !== undefined && total === undefined)
  )
    return `gemini_cli.api_response token counts must be integers from 0 to ${MAX_TOKENS_PER_ENTRY}`;
  const ts = eventTime(record, attributes);
  if (!ts || ts < MIN_ENTRY_TS || ts > now + MAX_AHEAD_MS)
    return 'gemini_cli.api_response without a time from 2000 to a day ahead';
  const [input, output, cached, thoughts, tool] = figures as number[];
  const tokens = geminiTokens(input, output, cached, thoughts, tool, total);
  return {
    agent: 'gemini',
    key: `a\u0000gemini\u0000${geminiEventKey(session, model, input, output, cached, thoughts, tool)}`,
    requestId: stringOf(attributes.prompt_id) ?? null,
    session,
    machine: machineOf(resource, attributes),
    model,
    fast: false,
    ts,
    counts: [tokens.input, tokens.output, 0, tokens.cacheRead],
    reasoning: thoughts,
    extra: tokens.extra,
    reportedCostUsd: null,
    attributes: keptOf(resource, attributes),
  };
}

/** A Codex model call's key, as the push client writes it for the same call read from a rollout
 * (usagebridge/agents/store.py push_key): its conversation, model and figures. */
export const codexEventKey = (
  conversation: string,
  model: string,
  input: number,
  cached: number,
  output: number,
  reasoning: number,
) => [conversation, model, input, cached, output, reasoning].join('|');

/** A Gemini CLI model call's key (its session, model and usage metadata), as the push client
 * writes it. */
export const geminiEventKey = (
  session: string,
  model: string,
  input: number,
  output: number,
  cached: number,
  thoughts: number,
  tool: number,
) => [session, model, input, output, cached, thoughts, tool].join('|');

/** Gemini CLI's usage as ccusage counts it (usagebridge/agents/gemini.py event_of). */
export function geminiTokens(
  input: number,
  output: number,
  cached: number,
  thoughts: number,
  tool: number,
  givenTotal: number | undefined,
): { input: number; output: number; cacheRead: number; extra: number; total: number } {
  const inclusive = input + output + thoughts + tool;
  const uncached =
    cached > 0 && givenTotal === inclusive && givenTotal !== inclusive + cached
      ? input - Math.min(input, cached)
      : input;
  const shown = uncached + tool;
  const total = givenTotal ?? shown + output + cached + thoughts;
  let extra = thoughts;
  let out = output;
  const missing = Math.max(0, total - (shown + output + cached + extra));
  if (missing) {
    if (out === 0) out = missing;
    else extra += missing;
  }
  return { input: shown, output: out, cacheRead: cached, extra, total };
}

/** A counter's data point, or why it cannot be counted. */
function pointOf(
  member: string,
  metric: string,
  cumulative: boolean,
  point: Record<string, unknown>,
  now: number,
): Point | string {
  const time = nanosToMs(point.timeUnixNano);
  if (!time || time < MIN_ENTRY_TS || time > now + MAX_AHEAD_MS)
    return 'data point without a time from 2000 to a day ahead';
  const raw = point.asDouble ?? (point.asInt !== undefined ? Number(point.asInt) : undefined);
  const value = typeof raw === 'number' && Number.isFinite(raw) && raw >= 0 ? raw : undefined;
  if (value === undefined) return 'data point without a value ≥ 0';
  const attributes = attributesOf(point.attributes);
  const label = LABEL_KEYS.map((k) => attributes[k])
    .filter((v) => v !== undefined)
    .map(String)
    .join('|')
    .slice(0, 200);
  const identity = JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1)));
  const series = sha256Hex(`${member}\u0000${metric}\u0000${identity}`);
  const startNs = String(point.startTimeUnixNano ?? '0');
  const timeNs = String(point.timeUnixNano);
  return {
    key: sha256Hex(`${series}\u0000${cumulative ? 'c' : 'd'}\u0000${startNs}\u0000${timeNs}`),
    series,
    metric,
    label,
    minute: Math.floor(time / MINUTE_MS),
    value,
    cumulative,
    startNs,
    timeNs,
  };
}
