import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PeriodicJobs } from '../../cluster/periodic-jobs';
import { In, LessThan, type EntityManager } from 'typeorm';
import { CLOCK, type Clock } from '../../common/clock';
import { DatabaseWrites } from '../../database/database-writes';
import { MAX_TOKENS_PER_ENTRY, MIN_ENTRY_TS, MAX_AHEAD_MS } from '../dto/usage-entries.dto';
import { LedgerService } from '../ledger/ledger.service';
import type { OtlpApiRequest } from '../ledger/otlp-api-request';
import { chunks, lockInOrder, placeholders } from '../ledger/sql';
import {
  amountOf,
  attributesOf,
  countOf,
  nanosToMs,
  type Scalar,
  stringOf,
} from './otlp-attributes';
import { OtlpPoint, OtlpSeries } from './otlp-series.entity';
import { sha256Hex } from '../../common/sha256-hex';

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
/** The attributes that tell a counter's series apart (e.g. token.usage by type and model). */
const LABEL_KEYS = ['type', 'model', 'tool_name', 'decision'] as const;
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
/** pg_advisory_xact_lock's first key for cumulative series. */
const SERIES_LOCK_SPACE = 0x4f746c70;
const MINUTE_MS = 60_000;
/**
 * How long a counted data point is remembered (an exporter resends a batch for minutes, not
 * days), and a cumulative series' last value kept after its last point.
 */
export const OTLP_POINT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface ReceiveResult {
  readonly accepted: number;
  readonly rejected: number;
  /** Why some were rejected (empty when none were). */
  readonly message: string;
}

interface Point {
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

/**
 * What Claude Code's OpenTelemetry exporters send (docs/design.md §9): `claude_code.api_request`
 * events become ledger rows (priced by our table, Claude Code's `cost_usd` kept beside), its
 * counters per-member per-minute deltas (a cumulative series turned into deltas). A batch sent
 * again counts nothing twice: requests by request id, data points by series and time.
 */
@Injectable()
export class OtlpReceiver implements OnApplicationBootstrap {
  constructor(
    private readonly ledger: LedgerService,
    private readonly writes: DatabaseWrites,
    private readonly jobs: PeriodicJobs,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.every('otlp-prune', PRUNE_EVERY_MS, () => this.prune(), {
      cluster: true,
      runAtStart: true,
    });
  }

  /** Forgets counted points and idle cumulative series older than OTLP_POINT_RETENTION_MS. */
  async prune(): Promise<number> {
    const before = this.now() - OTLP_POINT_RETENTION_MS;
    const [points, series] = await this.writes.transaction(async (m) => [
      await m.delete(OtlpPoint, { receivedAt: LessThan(before) }),
      await m.delete(OtlpSeries, { updatedAt: LessThan(before) }),
    ]);
    return (points.affected ?? 0) + (series.affected ?? 0);
  }

  async logs(member: string, request: Record<string, unknown>): Promise<ReceiveResult> {
    const now = this.now();
    const problems = new Map<string, number>();
    const reject = (why: string) => problems.set(why, (problems.get(why) ?? 0) + 1);
    const requests = [];
    for (const resourceLogs of list(request.resourceLogs)) {
      const resource = attributesOf(field(resourceLogs, 'resource')?.attributes);
      for (const scopeLogs of list(field(resourceLogs, 'scopeLogs'))) {
        for (const record of list(field(scopeLogs, 'logRecords'))) {
          const attributes = attributesOf(field(record, 'attributes'));
          if (!isApiRequest(record, attributes)) continue;
          const parsed = apiRequest(attributes, resource, record, now);
          if (typeof parsed === 'string') reject(parsed);
          else requests.push(parsed);
        }
      }
    }
    const stored = requests.length
      ? await this.ledger.otlp(member, requests, now)
      : { accepted: 0 };
    return result(stored.accepted, problems);
  }

  async metrics(member: string, request: Record<string, unknown>): Promise<ReceiveResult> {
    const problems = new Map<string, number>();
    const reject = (why: string) => problems.set(why, (problems.get(why) ?? 0) + 1);
    const points: Point[] = [];
    const now = this.now();
    for (const resourceMetrics of list(request.resourceMetrics)) {
      for (const scopeMetrics of list(field(resourceMetrics, 'scopeMetrics'))) {
        for (const metric of list(field(scopeMetrics, 'metrics'))) {
          const name = typeof metric.name === 'string' ? metric.name : '';
          if (!name.startsWith('claude_code.')) continue;
          const short = name.slice('claude_code.'.length);
          if (!CLAUDE_CODE_METRICS.has(short)) continue;
          const sum = field(metric, 'sum') as Record<string, unknown> | undefined;
          if (!sum) continue;
          const cumulative = Number(sum.aggregationTemporality) === 2;
          for (const dataPoint of list(sum.dataPoints)) {
            const point = pointOf(member, short, cumulative, dataPoint, now);
            if (typeof point === 'string') reject(point);
            else points.push(point);
          }
        }
      }
    }
    const accepted = points.length ? await this.storePoints(member, points) : 0;
    return result(accepted, problems);
  }

  /** Points not seen before, cumulative ones as deltas, added to their minutes; one transaction. */
  private storePoints(member: string, points: readonly Point[]): Promise<number> {
    return this.writes.transaction(async (m) => {
      const postgres = m.connection.options.type === 'postgres';
      const unique = [...new Map(points.map((p) => [p.key, p])).values()].sort((a, b) =>
        a.key < b.key ? -1 : 1,
      );
      const series = [...new Set(unique.filter((p) => p.cumulative).map((p) => p.series))].sort();
      await lockInOrder(m, SERIES_LOCK_SPACE, series);
      // The points not counted before: claimed by inserting their keys (a resend of the same
      // batch to another instance at the same moment finds them taken, not a key violation).
      const claimedAt = this.now();
      const claimed = new Set<string>();
      for (const chunk of chunks(unique, 500)) {
        const params: unknown[] = [];
        const rows = chunk.map((p) => placeholders(params, [p.key, claimedAt], postgres));
        const inserted = (await m.query(
          `INSERT INTO otlp_points (point_key, received_at) VALUES ${rows.join(', ')} ` +
            'ON CONFLICT (point_key) DO NOTHING RETURNING point_key',
          params,
        )) as { point_key: string }[];
        for (const row of inserted) claimed.add(row.point_key);
      }
      const fresh = unique.filter((p) => claimed.has(p.key));
      const states = new Map<string, OtlpSeries>();
      for (const chunk of chunks(series, 500))
        for (const row of await m.find(OtlpSeries, { where: { seriesKey: In(chunk) } }))
          states.set(row.seriesKey, row);
      const now = claimedAt;
      const minutes = new Map<
        string,
        { minute: number; metric: string; label: string; value: number }
      >();
      // A cumulative series in time order: each point's delta from the one before.
      for (const point of [...fresh].sort((a, b) => compareNs(a.timeNs, b.timeNs))) {
        let delta = point.value;
        if (point.cumulative) {
          const state = states.get(point.series);
          if (state && state.startNs === point.startNs) {
            if (compareNs(point.timeNs, state.timeNs) <= 0) continue; // older than what we have
            delta = point.value - state.value;
          }
          states.set(point.series, {
            seriesKey: point.series,
            startNs: point.startNs,
            timeNs: point.timeNs,
            value: point.value,
            updatedAt: now,
          });
        }
        const id = `${point.minute}\u0000${point.metric}\u0000${point.label}`;
        const sum = minutes.get(id);
        if (sum) sum.value += delta;
        else
          minutes.set(id, {
            minute: point.minute,
            metric: point.metric,
            label: point.label,
            value: delta,
          });
      }
      const changed = series.map((key) => states.get(key)).filter((s): s is OtlpSeries => !!s);
      for (const chunk of chunks(changed, 200)) await m.save(OtlpSeries, chunk);
      await addMinutes(m, member, [...minutes.values()], postgres);
      return fresh.length;
    });
  }
}

async function addMinutes(
  m: EntityManager,
  member: string,
  rows: readonly { minute: number; metric: string; label: string; value: number }[],
  postgres: boolean,
): Promise<void> {
  const sorted = [...rows].sort(
    (a, b) =>
      a.minute - b.minute || a.metric.localeCompare(b.metric) || a.label.localeCompare(b.label),
  );
  for (const chunk of chunks(sorted, 200)) {
    const params: unknown[] = [];
    const values = chunk.map((r) =>
      placeholders(params, [member, r.minute, r.metric, r.label, r.value], postgres),
    );
    await m.query(
      `INSERT INTO usage_metric_minutes (member, minute, metric, label, value) VALUES ${values.join(', ')} ` +
        'ON CONFLICT (member, minute, metric, label) DO UPDATE SET value = usage_metric_minutes.value + excluded.value',
      params,
    );
  }
}

function result(accepted: number, problems: Map<string, number>): ReceiveResult {
  const rejected = [...problems.values()].reduce((a, b) => a + b, 0);
  const message = [...problems.entries()].map(([why, n]) => `${n} × ${why}`).join('; ');
  return { accepted, rejected, message };
}

const compareNs = (a: string, b: string) =>
  a.length === b.length ? (a < b ? -1 : a > b ? 1 : 0) : a.length - b.length;

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

/** Claude Code's `claude_code.api_request` event, however the SDK carried its name. */
function isApiRequest(
  record: Record<string, unknown>,
  attributes: Record<string, Scalar>,
): boolean {
  if (attributes['event.name'] === 'api_request') return true;
  if (record.eventName === 'claude_code.api_request') return true;
  const body = field(record, 'body');
  return body?.stringValue === 'claude_code.api_request';
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
  const stamp = stringOf(attributes['event.timestamp'], 64);
  const ts =
    (stamp ? Date.parse(stamp) : NaN) ||
    nanosToMs(record.timeUnixNano) ||
    nanosToMs(record.observedTimeUnixNano);
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
  const host = stringOf(resource['host.name'] ?? attributes['host.name'], 128);
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
  return {
    key,
    requestId: requestId ?? null,
    session: session ?? null,
    machine: host ? host.replace(/[^\w.@:-]/g, '-') : 'otlp',
    model,
    fast: attributes.speed === 'fast',
    ts,
    counts: counts as [number, number, number, number],
    reportedCostUsd: amountOf(attributes.cost_usd, 1_000_000) ?? null,
    attributes: Object.keys(kept).length ? kept : null,
  };
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
