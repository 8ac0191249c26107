import { type Attributes } from '@opentelemetry/api';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonMetricExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRollupsMatchEntries } from './support/ledger-rollups';
import { OTLP_POINT_RETENTION_MS, OtlpReceiver } from '../src/team/otlp/otlp-receiver';
import {
  createSqliteDatabase,
  createTestDatabase,
  databaseKinds,
  type TestDatabase,
} from './support/databases';
import { TestClock } from './support/test-clock';
import { startTestApp, type RunningApp } from './support/test-app';

const KEY = 'team-otlp-admin-key-0123456789ab';
const MODELS = ['claude-sonnet-4-5-20250929', 'claude-opus-4-1-20250805'];

/** A metric reader the test drives: collect once, export that batch as often as it likes. */
class ManualReader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The SDK's exporters report through a callback: 0 is success. */
const exported = (
  exporter: PushMetricExporter | LogRecordExporter,
  batch: ResourceMetrics | ReadableLogRecord[],
) =>
  new Promise<{ code: number; error?: Error }>((resolve) =>
    (exporter.export as (b: unknown, cb: (r: { code: number; error?: Error }) => void) => void)(
      batch,
      resolve,
    ),
  );

/** Keeps what the batch processor hands the real exporter, to send a batch again. */
class RecordingExporter implements LogRecordExporter {
  readonly batches: ReadableLogRecord[][] = [];
  constructor(readonly real: LogRecordExporter) {}
  export(records: ReadableLogRecord[], done: (result: { code: number }) => void): void {
    this.batches.push(records);
    this.real.export(records, done);
  }
  forceFlush(): Promise<void> {
    return this.real.forceFlush?.() ?? Promise.resolve();
  }
  shutdown(): Promise<void> {
    return this.real.shutdown();
  }
}

interface Emitted {
  tokens: number;
  requests: number;
}

/**
 * The OTLP/HTTP receiver (docs/design.md §9) fed by the OpenTelemetry JS SDK's own exporters — OTLP
 * proto for alice, OTLP JSON for bob — with Claude Code's metric and event names and attributes:
 * what reaches the team report is what was emitted, a batch sent twice counts once, a cumulative
 * series becomes deltas, and garbage is refused with nothing stored.
 */
describe.each(databaseKinds())('OTLP receiver on %s', (kind) => {
  let db: TestDatabase;
  let app: RunningApp;
  const tokens: Record<string, string> = {};
  const emitted: Record<string, Emitted> = {};
  const day = new Date(Date.now() - 2 * 3_600_000);

  const admin = async (path: string) => {
    const res = await fetch(`${app.url}${path}`, { headers: { 'x-api-key': KEY } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const resource = (member: string) =>
    resourceFromAttributes({
      'service.name': 'claude-code',
      'service.version': '2.1.230',
      'host.name': `${member}-laptop`,
      'team.id': 'platform',
      cost_center: 'eng-123',
    });
  /** One log line pushed as alice's (POST /api/usage/entries); the gateway's answer. */
  const pushLine = async (entry: Record<string, unknown>) => {
    const res = await fetch(`${app.url}/api/usage/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers('alice') },
      body: JSON.stringify({ machine: 'alice-laptop', entries: [entry] }),
    });
    return (await res.json()) as { accepted: number; superseded: number };
  };
  const apiRequest = (member: string, n: number, model: string): Attributes => ({
    'event.name': 'api_request',
    'event.timestamp': new Date(day.getTime() + n * 60_000).toISOString(),
    'event.sequence': n,
    'session.id': `${member}-session-1`,
    'user.email': `${member}@example.com`,
    'organization.id': 'org-1',
    model,
    input_tokens: 100 * n,
    output_tokens: 1000 + n,
    cache_read_tokens: 5000,
    cache_creation_tokens: 200,
    cost_usd: 0.01 * n,
    duration_ms: 1200,
    request_id: `req_${member}_${n}`,
    speed: 'normal',
  });

  /** Emits `count` api_request events (one twice) through the member's log exporter. */
  async function sendEvents(member: string, exporter: LogRecordExporter, count: number) {
    const recording = new RecordingExporter(exporter);
    const processor = new BatchLogRecordProcessor({ exporter: recording, maxExportBatchSize: 100 });
    const provider = new LoggerProvider({ resource: resource(member), processors: [processor] });
    const logger = provider.getLogger('com.anthropic.claude_code.events', '2.1.230');
    const sum: Emitted = { tokens: 0, requests: 0 };
    for (let n = 1; n <= count; n++) {
      const attributes = apiRequest(member, n, MODELS[n % 2]);
      logger.emit({
        eventName: 'claude_code.api_request',
        body: 'claude_code.api_request',
        attributes,
      });
      sum.tokens +=
        (attributes.input_tokens as number) + (attributes.output_tokens as number) + 5000 + 200;
      sum.requests += 1;
    }
    // The same event again (Claude Code's retry of an export, or a second exporter).
    logger.emit({ body: 'claude_code.api_request', attributes: apiRequest(member, 1, MODELS[1]) });
    // Events the ledger does not keep.
    logger.emit({
      body: 'claude_code.user_prompt',
      attributes: { 'event.name': 'user_prompt', prompt_length: 12, prompt: 'secret' },
    });
    await provider.forceFlush();
    expect(recording.batches.length).toBeGreaterThan(0);
    // A whole batch again, as an exporter that got no answer sends it.
    expect((await exported(exporter, recording.batches[0])).code).toBe(0);
    await provider.shutdown();
    emitted[member] = sum;
  }

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startTestApp({ ...db.env, API_KEYS: KEY });
    for (const name of ['alice', 'bob']) {
      const res = await fetch(`${app.url}/api/team/members`, {
        method: 'POST',
        headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      tokens[name] = ((await res.json()) as { token: string }).token;
    }
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const headers = (member: string) => ({ Authorization: `Bearer ${tokens[member]}` });

  it('takes api_request events over OTLP proto and OTLP JSON, each request once', async () => {
    await sendEvents(
      'alice',
      new ProtoLogExporter({ url: `${app.url}/v1/logs`, headers: headers('alice') }),
      12,
    );
    await sendEvents(
      'bob',
      new JsonLogExporter({ url: `${app.url}/v1/logs`, headers: headers('bob') }),
      7,
    );
    const report = await admin('/api/team/usage/reports/daily?group_by=member&timezone=UTC');
    const rows = report.daily as { member: string; total_tokens: number; cost_usd: number }[];
    for (const member of ['alice', 'bob']) {
      const mine = rows.filter((r) => r.member === member);
      expect(
        mine.reduce((s, r) => s + r.total_tokens, 0),
        member,
      ).toBe(emitted[member].tokens);
      expect(mine.reduce((s, r) => s + r.cost_usd, 0)).toBeGreaterThan(0);
    }
    const sessions = await admin('/api/team/usage/reports/sessions?group_by=machine');
    const machines = (sessions.sessions as { machine: string; session_id: string }[]).map(
      (r) => `${r.machine} ${r.session_id}`,
    );
    expect(machines.sort()).toEqual(['alice-laptop alice-session-1', 'bob-laptop bob-session-1']);
  });

  it('counts Claude Code’s counters per member and minute: delta, and cumulative as deltas', async () => {
    // alice: delta temporality over OTLP proto; the same collection exported twice.
    const aliceReader = new ManualReader(AggregationTemporality.DELTA);
    const alice = new MeterProvider({ resource: resource('alice'), readers: [aliceReader] });
    const aliceExporter = new ProtoMetricExporter({
      url: `${app.url}/v1/metrics`,
      headers: headers('alice'),
      temporalityPreference: AggregationTemporalityPreference.DELTA,
    });
    const meter = alice.getMeter('com.anthropic.claude_code');
    const tokenUsage = meter.createCounter('claude_code.token.usage', { unit: 'tokens' });
    const sessionCount = meter.createCounter('claude_code.session.count');
    const common = { 'session.id': 'alice-session-1', 'user.email': 'alice@example.com' };
    tokenUsage.add(1200, { ...common, type: 'input', model: MODELS[0] });
    tokenUsage.add(3400, { ...common, type: 'output', model: MODELS[0] });
    sessionCount.add(1, { ...common, start_type: 'fresh' });
    const first = await aliceReader.collect();
    expect((await exported(aliceExporter, first.resourceMetrics)).code).toBe(0);
    expect((await exported(aliceExporter, first.resourceMetrics)).code).toBe(0);
    tokenUsage.add(800, { ...common, type: 'input', model: MODELS[0] });
    const second = await aliceReader.collect();
    expect((await exported(aliceExporter, second.resourceMetrics)).code).toBe(0);

    // bob: cumulative over OTLP JSON: 100, then 150 (a delta of 50), the second export twice.
    const bobReader = new ManualReader(AggregationTemporality.CUMULATIVE);
    const bob = new MeterProvider({ resource: resource('bob'), readers: [bobReader] });
    const bobExporter = new JsonMetricExporter({
      url: `${app.url}/v1/metrics`,
      headers: headers('bob'),
      temporalityPreference: AggregationTemporalityPreference.CUMULATIVE,
    });
    const lines = bob
      .getMeter('com.anthropic.claude_code')
      .createCounter('claude_code.lines_of_code.count');
    lines.add(100, { type: 'added', model: MODELS[1] });
    expect((await exported(bobExporter, (await bobReader.collect()).resourceMetrics)).code).toBe(0);
    lines.add(50, { type: 'added', model: MODELS[1] });
    const later = await bobReader.collect();
    expect((await exported(bobExporter, later.resourceMetrics)).code).toBe(0);
    expect((await exported(bobExporter, later.resourceMetrics)).code).toBe(0);

    const answer = await admin('/api/team/usage/metrics');
    const totals = answer.metrics as {
      member: string;
      metric: string;
      label: string;
      value: number;
    }[];
    const value = (member: string, metric: string, label: string) =>
      totals.find((t) => t.member === member && t.metric === metric && t.label === label)?.value;
    expect(value('alice', 'token.usage', `input|${MODELS[0]}`)).toBe(2000);
    expect(value('alice', 'token.usage', `output|${MODELS[0]}`)).toBe(3400);
    expect(value('alice', 'session.count', '')).toBe(1);
    expect(value('bob', 'lines_of_code.count', `added|${MODELS[1]}`)).toBe(150);
    await Promise.all([alice.shutdown(), bob.shutdown()]);
  });

  it('answers OTLP status codes: garbage 400 (nothing stored), 415, 401, 403; gzip works', async () => {
    const before = await admin('/api/team/usage/reports/monthly');
    const post = (
      path: string,
      body: string | Buffer,
      type: string,
      extra: Record<string, string> = {},
    ) =>
      fetch(`${app.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': type, ...headers('alice'), ...extra },
        body,
      });
    // A length-delimited field claiming more bytes than there are.
    const truncated = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    expect((await post('/v1/logs', truncated, 'application/x-protobuf')).status).toBe(400);
    expect((await post('/v1/metrics', truncated, 'application/x-protobuf')).status).toBe(400);
    expect((await post('/v1/logs', '{"resourceLogs":"nope"}', 'application/json')).status).toBe(
      400,
    );
    expect((await post('/v1/logs', 'hello', 'text/plain')).status).toBe(415);
    const anonymous = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(anonymous.status).toBe(401);
    const noMember = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: '{}',
    });
    expect(noMember.status).toBe(403);
    expect(await admin('/api/team/usage/reports/monthly')).toEqual(before);

    // A record that cannot be a request: counted in partialSuccess, the rest stored.
    const json = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'host.name', value: { stringValue: 'alice-laptop' } }] },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: String(BigInt(day.getTime()) * 1_000_000n),
                  body: { stringValue: 'claude_code.api_request' },
                  attributes: [
                    { key: 'event.name', value: { stringValue: 'api_request' } },
                    { key: 'model', value: { stringValue: MODELS[0] } },
                    { key: 'input_tokens', value: { intValue: '-5' } },
                    { key: 'request_id', value: { stringValue: 'req_bad' } },
                  ],
                },
                {
                  timeUnixNano: String(BigInt(day.getTime()) * 1_000_000n),
                  attributes: [
                    { key: 'event.name', value: { stringValue: 'api_request' } },
                    { key: 'model', value: { stringValue: MODELS[0] } },
                    { key: 'input_tokens', value: { intValue: '7' } },
                    { key: 'request_id', value: { stringValue: 'req_gzip' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const partial = await post('/v1/logs', gzipSync(JSON.stringify(json)), 'application/json', {
      'content-encoding': 'gzip',
    });
    expect(partial.status).toBe(200);
    expect(await partial.json()).toEqual({
      partialSuccess: {
        rejectedLogRecords: 1,
        errorMessage: expect.stringContaining('token counts') as unknown,
      },
    });
    const after = await admin('/api/team/usage/reports/monthly');
    expect(
      (after.totals as { total_tokens: number }).total_tokens -
        (before.totals as { total_tokens: number }).total_tokens,
    ).toBe(7);
  });

  it('the pushed log line of a request replaces its OTLP row (counted once, as ccusage would)', async () => {
    const before = await admin('/api/team/usage/reports/monthly');
    const answer = await pushLine({
      ts: day.getTime() + 60_000,
      model: MODELS[1],
      input_tokens: 100,
      output_tokens: 1001,
      cache_creation_tokens: 200,
      cache_read_tokens: 5000,
      session_id: '-home-alice-shop',
      project_path: 'Unknown Project',
      project: '-home-alice-shop',
      message_id: 'msg_alice_1',
      request_id: 'req_alice_1',
    });
    expect(answer).toMatchObject({ accepted: 1, superseded: 1 });
    const after = await admin('/api/team/usage/reports/monthly');
    expect((after.totals as { total_tokens: number }).total_tokens).toBe(
      (before.totals as { total_tokens: number }).total_tokens,
    );
    // The OTLP copy sent again later is not counted beside the line.
    const again = new ProtoLogExporter({ url: `${app.url}/v1/logs`, headers: headers('alice') });
    const provider = new LoggerProvider({
      resource: resource('alice'),
      processors: [new BatchLogRecordProcessor({ exporter: again })],
    });
    provider
      .getLogger('com.anthropic.claude_code.events')
      .emit({ body: 'claude_code.api_request', attributes: apiRequest('alice', 1, MODELS[1]) });
    await provider.forceFlush();
    await provider.shutdown();
    expect(await admin('/api/team/usage/reports/monthly')).toEqual(after);
  });

  it('the larger of a request’s pushed line and OTLP event counts, whichever came first; on a tie the line', async () => {
    const monthlyTokens = async () =>
      ((await admin('/api/team/usage/reports/monthly')).totals as { total_tokens: number })
        .total_tokens;
    const push = (output: number) =>
      pushLine({
        ts: day.getTime() + 500 * 60_000,
        model: MODELS[1],
        input_tokens: 50_000,
        output_tokens: output,
        cache_creation_tokens: 200,
        cache_read_tokens: 5000,
        session_id: 'alice-session-1',
        project_path: '-home-alice-shop',
        project: '-home-alice-shop',
        message_id: 'msg_alice_500',
        request_id: 'req_alice_500',
      });
    const before = await monthlyTokens();
    // A streamed message's partial line, pushed before the message ended.
    expect(await push(3)).toMatchObject({ accepted: 1 });
    expect(await monthlyTokens()).toBe(before + 55_203);
    // Its OTLP event (the billed figures) replaces it.
    const exporter = new ProtoLogExporter({ url: `${app.url}/v1/logs`, headers: headers('alice') });
    const provider = new LoggerProvider({
      resource: resource('alice'),
      processors: [new BatchLogRecordProcessor({ exporter })],
    });
    provider
      .getLogger('com.anthropic.claude_code.events')
      .emit({ body: 'claude_code.api_request', attributes: apiRequest('alice', 500, MODELS[1]) });
    await provider.forceFlush();
    await provider.shutdown();
    expect(await monthlyTokens()).toBe(before + 50_000 + 1500 + 200 + 5000);
    // The billed line: the same figures, and the line wins the tie (it names the project).
    expect(await push(1500)).toMatchObject({ accepted: 1, superseded: 1 });
    expect(await monthlyTokens()).toBe(before + 56_700);
  });

  it('keeps every roll-up equal to the entries it sums (replaced OTLP rows taken out)', async () => {
    await expectRollupsMatchEntries(db);
  });
});

describe('OTLP points are remembered for 7 days', () => {
  it('prunes counted points and idle series after OTLP_POINT_RETENTION_MS (injected clock)', async () => {
    const db = createSqliteDatabase();
    const clock = new TestClock();
    const app = await startTestApp({ ...db.env }, 0, { clock: clock.now });
    try {
      const at = String(BigInt(clock.now()) * 1_000_000n);
      const body = {
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'claude_code.commit.count',
                    sum: {
                      aggregationTemporality: 2,
                      isMonotonic: true,
                      dataPoints: [{ startTimeUnixNano: at, timeUnixNano: at, asInt: '3' }],
                    },
                  },
                ],
              },
            ],
          },
        ],
      };
      const send = () =>
        fetch(`${app.url}/v1/metrics`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await send()).status).toBe(200);
      const receiver = app.app.get(OtlpReceiver);
      expect(await receiver.prune()).toBe(0);
      clock.advance(OTLP_POINT_RETENTION_MS + 60_000);
      // The point and its cumulative series (no point since) are forgotten.
      expect(await receiver.prune()).toBe(2);
    } finally {
      await app.close();
      await db.drop();
    }
  });
});
