import * as grpc from '@grpc/grpc-js';
import { type Attributes } from '@opentelemetry/api';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { createMembers } from './support/members';
import { startTestApp, type RunningApp } from './support/test-app';
import { freePort } from './support/wait';

const KEY = 'otlp-grpc-admin-key-0123456789abcd';
const LOGS = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

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

/**
 * OTLP/gRPC (Gemini CLI's and collectors' default transport) on OTLP_GRPC_PORT, fed by the
 * OpenTelemetry JS SDK's own gRPC exporters: Gemini CLI-shaped logs and counters land as over
 * OTLP/HTTP, a batch sent twice counts once; the member credential, the Host rule and the size
 * limit apply as on HTTP.
 */
describe('the OTLP/gRPC receiver', () => {
  let db: TestDatabase;
  let app: RunningApp;
  let port: number;
  let tokens: Record<string, string>;
  const at = Date.now() - 3_600_000;

  const metadata = (entries: Record<string, string>) => {
    const m = new grpc.Metadata();
    for (const [k, v] of Object.entries(entries)) m.set(k, v);
    return m;
  };
  const admin = async (path: string) =>
    (await (await fetch(`${app.url}${path}`, { headers: { 'x-api-key': KEY } })).json()) as Record<
      string,
      unknown
    >;
  /** One raw Export call (bytes in, status out), with these options for the channel. */
  const raw = (body: Buffer, meta: grpc.Metadata, options: grpc.ChannelOptions = {}) =>
    new Promise<{ code: number; details: string }>((resolve) => {
      const client = new grpc.Client(
        `127.0.0.1:${port}`,
        grpc.credentials.createInsecure(),
        options,
      );
      client.makeUnaryRequest(
        LOGS,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        meta,
        (error) => {
          client.close();
          resolve({ code: error?.code ?? 0, details: error?.details ?? '' });
        },
      );
    });

  beforeAll(async () => {
    db = createSqliteDatabase();
    port = await freePort();
    app = await startTestApp({ ...db.env, API_KEYS: KEY, OTLP_GRPC_PORT: String(port) });
    tokens = await createMembers(app.url, KEY, ['erin']);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('takes Gemini CLI’s logs and counters over gRPC, a batch sent twice once', async () => {
    const exporter = new GrpcLogExporter({
      url: `http://127.0.0.1:${port}`,
      credentials: grpc.credentials.createInsecure(),
      metadata: metadata({ authorization: `Bearer ${tokens.erin}` }),
    });
    const recording = new RecordingExporter(exporter);
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'gemini-cli' }),
      processors: [new BatchLogRecordProcessor({ exporter: recording })],
    });
    const logger = provider.getLogger('gemini-cli');
    let tokensSent = 0;
    for (let n = 1; n <= 4; n++) {
      const attributes: Attributes = {
        'event.name': 'gemini_cli.api_response',
        'event.timestamp': new Date(at + n * 1000).toISOString(),
        'session.id': 'grpc-session',
        model: 'gemini-2.5-flash',
        input_token_count: 1000 * n,
        cached_content_token_count: 0,
        output_token_count: 50,
        thoughts_token_count: 10,
        tool_token_count: 0,
        total_token_count: 1000 * n + 60,
      };
      logger.emit({ eventName: 'gemini_cli.api_response', attributes });
      tokensSent += 1000 * n + 60;
    }
    await provider.forceFlush();
    const again = await new Promise<number>((resolve) =>
      exporter.export(recording.batches[0], (r) => resolve(r.code)),
    );
    expect(again).toBe(0);
    await provider.shutdown();
    const totals = (await admin('/api/team/usage/reports/monthly?agent=gemini')).totals as {
      total_tokens: number;
    };
    expect(totals.total_tokens).toBe(tokensSent);

    const meters = new MeterProvider({
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new GrpcMetricExporter({
            url: `http://127.0.0.1:${port}`,
            credentials: grpc.credentials.createInsecure(),
            metadata: metadata({ authorization: `Bearer ${tokens.erin}` }),
          }),
          exportIntervalMillis: 3_600_000,
        }),
      ],
    });
    meters
      .getMeter('gemini-cli')
      .createCounter('gemini_cli.api.request.count')
      .add(4, { model: 'gemini-2.5-flash', status_code: 200 });
    await meters.forceFlush();
    await meters.shutdown();
    const metrics = (await admin('/api/team/usage/metrics?member=erin')).metrics as {
      metric: string;
      value: number;
    }[];
    expect(metrics.find((m) => m.metric === 'gemini_cli.api.request.count')?.value).toBe(4);
  });

  it('refuses a wrong credential, a key without a member, another host name and an oversized message', async () => {
    const empty = Buffer.alloc(0);
    expect(await raw(empty, metadata({ authorization: 'Bearer ugm_wrong' }))).toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
    expect(await raw(empty, metadata({ 'x-api-key': KEY }))).toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringContaining('member') as unknown,
    });
    expect(
      await raw(empty, metadata({ authorization: `Bearer ${tokens.erin}` }), {
        'grpc.default_authority': 'evil.example',
      }),
    ).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    // Over the 1 MiB limit: refused before it is read.
    expect(
      await raw(
        Buffer.alloc(2 * 1024 * 1024, 1),
        metadata({ authorization: `Bearer ${tokens.erin}` }),
      ),
    ).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    // Not an export request: INVALID_ARGUMENT (exporters do not retry it).
    expect(
      await raw(
        Buffer.from([0xff, 0xff, 0xff]),
        metadata({ authorization: `Bearer ${tokens.erin}` }),
      ),
    ).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});
