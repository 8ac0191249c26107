import { type Attributes } from '@opentelemetry/api';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentPrices } from '../src/team/ledger/agent-prices';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { createMembers } from './support/members';
import { startTestApp, type RunningApp } from './support/test-app';

const KEY = 'agents-otlp-admin-key-0123456789ab';
const PRICES = AgentPrices.load();

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

const resend = (exporter: LogRecordExporter, batch: ReadableLogRecord[]) =>
  new Promise<number>((resolve) => exporter.export(batch, (r) => resolve(r.code)));

interface Sent {
  tokens: number;
  cost: number;
}

/**
 * Codex's and Gemini CLI's OpenTelemetry logs (their event names and attributes: codex-rs/otel's
 * `codex.sse_event` of kind `response.completed`, Gemini CLI's `gemini_cli.api_response`) sent by
 * the OpenTelemetry JS SDK's own exporters — OTLP proto for Codex, OTLP JSON for Gemini CLI — each
 * batch sent twice: the team reports by agent carry exactly the sent tokens and their cost, once; a
 * call also pushed from its log counts once; Gemini CLI's counters are kept per minute.
 */
describe.each(databaseKinds())('other agents’ telemetry on %s', (kind) => {
  let db: TestDatabase;
  let app: RunningApp;
  let tokens: Record<string, string>;
  const at = Date.now() - 2 * 3_600_000;

  const admin = async (path: string) => {
    const res = await fetch(`${app.url}${path}`, { headers: { 'x-api-key': KEY } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const headers = (member: string) => ({ Authorization: `Bearer ${tokens[member]}` });
  const monthlyOf = async (agent: string) =>
    (await admin(`/api/team/usage/reports/monthly?agent=${agent}`)).totals as {
      total_tokens: number;
      cost_usd: number;
      reasoning_output_tokens: number;
    };

  /** Emits records through a logger of this resource, flushes, sends the first batch again. */
  async function emit(exporter: LogRecordExporter, service: string, records: Attributes[]) {
    const recording = new RecordingExporter(exporter);
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'host.name': `${service}-box` }),
      processors: [new BatchLogRecordProcessor({ exporter: recording, maxExportBatchSize: 100 })],
    });
    const logger = provider.getLogger(service);
    for (const attributes of records)
      logger.emit({ eventName: String(attributes['event.name']), attributes });
    await provider.forceFlush();
    expect(recording.batches.length).toBeGreaterThan(0);
    expect(await resend(exporter, recording.batches[0])).toBe(0);
    await provider.shutdown();
  }

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = await startTestApp({ ...db.env, API_KEYS: KEY });
    tokens = await createMembers(app.url, KEY, ['carol', 'dave']);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('Codex’s response.completed events over OTLP proto: each call once, at its price', async () => {
    const sent: Sent = { tokens: 0, cost: 0 };
    const records: Attributes[] = [];
    for (let n = 1; n <= 6; n++) {
      const [input, cached, output, reasoning] = [10_000 * n, 4_000 * n, 500 + n, 100];
      records.push({
        'event.name': 'codex.sse_event',
        'event.kind': 'response.completed',
        'event.timestamp': new Date(at + n * 60_000).toISOString(),
        'conversation.id': '0199c0de-0000-7000-8000-0000000000c1',
        'app.version': '0.63.0',
        'user.email': 'carol@example.com',
        model: 'gpt-5.1-codex',
        input_token_count: input,
        cached_token_count: cached,
        output_token_count: output,
        reasoning_token_count: reasoning,
        tool_token_count: 0,
      });
      sent.tokens += input + output;
      sent.cost += PRICES.cost('codex', 'gpt-5.1-codex', [input - cached, output, 0, cached]).usd;
    }
    // Other Codex events are not usage.
    records.push({ 'event.name': 'codex.sse_event', 'event.kind': 'response.output_item.done' });
    records.push({ 'event.name': 'codex.user_prompt', prompt: '[REDACTED]' });
    await emit(
      new ProtoLogExporter({ url: `${app.url}/v1/logs`, headers: headers('carol') }),
      'codex_cli_rs',
      records,
    );
    const codex = await monthlyOf('codex');
    expect(codex.total_tokens).toBe(sent.tokens);
    expect(codex.reasoning_output_tokens).toBe(600);
    expect(Math.abs(codex.cost_usd - sent.cost)).toBeLessThan(1e-9);
    // The same call pushed from carol's rollout (its conversation, model and figures): its log line
    // takes the OTLP row's place (as Claude Code's do), counted once.
    const pushed = await fetch(`${app.url}/api/usage/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers('carol') },
      body: JSON.stringify({
        machine: 'carol-laptop',
        entries: [
          {
            agent: 'codex',
            event_key: '0199c0de-0000-7000-8000-0000000000c1|gpt-5.1-codex|10000|4000|501|100',
            ts: at + 60_000 + 150,
            model: 'gpt-5.1-codex',
            input_tokens: 6_000,
            output_tokens: 501,
            cache_creation_tokens: 0,
            cache_read_tokens: 4_000,
            reasoning_tokens: 100,
            cost_usd: 0.01,
            session_id: '2026/12/07/rollout-x',
            project_path: '2026/12/07',
            project: 'codex',
          },
        ],
      }),
    });
    expect(await pushed.json()).toMatchObject({ received: 1, superseded: 1 });
    expect((await monthlyOf('codex')).total_tokens).toBe(sent.tokens);
  });

  it('Gemini CLI’s api_response events over OTLP JSON, its counters per minute', async () => {
    const sent: Sent = { tokens: 0, cost: 0 };
    const records: Attributes[] = [];
    for (let n = 1; n <= 5; n++) {
      const [input, cached, output, thoughts] = [20_000 * n, 5_000, 700, 300];
      const total = input + output + thoughts;
      records.push({
        'event.name': 'gemini_cli.api_response',
        'event.timestamp': new Date(at + n * 60_000).toISOString(),
        'session.id': 'gem-session-1',
        prompt_id: `p-${n}`,
        model: 'gemini-2.5-pro',
        status_code: 200,
        duration_ms: 2100,
        input_token_count: input,
        cached_content_token_count: cached,
        output_token_count: output,
        thoughts_token_count: thoughts,
        tool_token_count: 0,
        total_token_count: total,
      });
      sent.tokens += total;
      sent.cost += PRICES.cost('gemini', 'gemini-2.5-pro', [
        input - cached,
        output + thoughts,
        0,
        cached,
      ]).usd;
    }
    records.push({ 'event.name': 'gemini_cli.user_prompt', prompt_length: 3 });
    await emit(
      new JsonLogExporter({ url: `${app.url}/v1/logs`, headers: headers('dave') }),
      'gemini-cli',
      records,
    );
    const gemini = await monthlyOf('gemini');
    expect(gemini.total_tokens).toBe(sent.tokens);
    expect(gemini.reasoning_output_tokens).toBe(1_500);
    expect(Math.abs(gemini.cost_usd - sent.cost)).toBeLessThan(1e-9);
    // The first call as dave's chat record has it (its session and usage metadata): counted once.
    const pushed = await fetch(`${app.url}/api/usage/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers('dave') },
      body: JSON.stringify({
        machine: 'dave-laptop',
        entries: [
          {
            agent: 'gemini',
            event_key: 'gem-session-1|gemini-2.5-pro|20000|700|5000|300|0',
            ts: at + 60_000,
            model: 'gemini-2.5-pro',
            input_tokens: 15_000,
            output_tokens: 700,
            cache_creation_tokens: 0,
            cache_read_tokens: 5_000,
            reasoning_tokens: 300,
            extra_tokens: 300,
            cost_usd: 0.03,
            session_id: 'gem-session-1',
            project_path: 'Gemini',
            project: 'gemini',
          },
        ],
      }),
    });
    expect(await pushed.json()).toMatchObject({ received: 1, superseded: 1 });
    expect((await monthlyOf('gemini')).total_tokens).toBe(sent.tokens);
    // The counters Gemini CLI exports beside: kept per member and minute like Claude Code's.
    const meters = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'gemini-cli' }),
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new JsonMetricExporter({
            url: `${app.url}/v1/metrics`,
            headers: headers('dave'),
          }),
          exportIntervalMillis: 3_600_000,
        }),
      ],
    });
    const usage = meters.getMeter('gemini-cli').createCounter('gemini_cli.token.usage');
    usage.add(20_000, { model: 'gemini-2.5-pro', type: 'input' });
    usage.add(700, { model: 'gemini-2.5-pro', type: 'output' });
    meters.getMeter('gemini-cli').createCounter('gemini_cli.api.request.count').add(5, {
      model: 'gemini-2.5-pro',
      status_code: 200,
    });
    await meters.forceFlush();
    await meters.shutdown();
    const metrics = (await admin('/api/team/usage/metrics?member=dave')).metrics as {
      metric: string;
      label: string;
      value: number;
    }[];
    const value = (metric: string, label: string) =>
      metrics.find((m) => m.metric === metric && m.label === label)?.value;
    expect(value('gemini_cli.token.usage', 'input|gemini-2.5-pro')).toBe(20_000);
    expect(value('gemini_cli.token.usage', 'output|gemini-2.5-pro')).toBe(700);
    expect(value('gemini_cli.api.request.count', 'gemini-2.5-pro|200')).toBe(5);
  });

  it('refuses a wrong type, a huge count or no session by name, keeping the rest of the batch', async () => {
    const before = await monthlyOf('codex');
    const record = (attributes: Record<string, unknown>[]) => ({
      timeUnixNano: String(BigInt(at) * 1_000_000n),
      attributes: [
        { key: 'event.name', value: { stringValue: 'codex.sse_event' } },
        { key: 'event.kind', value: { stringValue: 'response.completed' } },
        { key: 'model', value: { stringValue: 'gpt-5.1-codex' } },
        ...attributes,
      ],
    });
    const conversation = { key: 'conversation.id', value: { stringValue: 'c-2' } };
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [] },
          scopeLogs: [
            {
              logRecords: [
                record([
                  conversation,
                  { key: 'input_token_count', value: { stringValue: 'lots' } },
                ]),
                record([
                  conversation,
                  { key: 'output_token_count', value: { intValue: '1000000000000' } },
                ]),
                record([{ key: 'input_token_count', value: { intValue: '5' } }]),
                record([conversation, { key: 'input_token_count', value: { intValue: '42' } }]),
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${app.url}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers('carol') },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as {
      partialSuccess: { rejectedLogRecords: number; errorMessage: string };
    };
    expect(answer.partialSuccess.rejectedLogRecords).toBe(3);
    expect(answer.partialSuccess.errorMessage).toContain('2 × codex.sse_event token counts');
    expect(answer.partialSuccess.errorMessage).toContain(
      '1 × codex.sse_event without conversation.id',
    );
    expect((await monthlyOf('codex')).total_tokens - before.total_tokens).toBe(42);
  });
});
