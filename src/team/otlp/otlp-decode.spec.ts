import { describe, expect, it } from 'vitest';
import { OtlpCodec } from './otlp-codec';
import { decodeLogs, decodeMetrics, receiveResult } from './otlp-decode';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const ns = (ms: number) => `${ms}000000`;
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: number) => ({ key, value: { intValue: String(value) } });

function logs(records: Record<string, unknown>[], resource: Record<string, unknown>[] = []) {
  return {
    resourceLogs: [{ resource: { attributes: resource }, scopeLogs: [{ logRecords: records }] }],
  };
}

function apiRequest(extra: Record<string, unknown>[] = []) {
  return {
    timeUnixNano: ns(NOW - 60_000),
    attributes: [
      str('event.name', 'api_request'),
      str('model', 'claude-sonnet-4-5'),
      str('request_id', 'req_1'),
      int('input_tokens', 10),
      int('output_tokens', 20),
      int('cache_creation_tokens', 30),
      int('cache_read_tokens', 40),
      ...extra,
    ],
  };
}

describe('decodeLogs', () => {
  it('reads an api_request event: its counts, time, key, machine and kept attributes', () => {
    const { items, problems } = decodeLogs(
      logs(
        [apiRequest([str('user.email', 'ana@example.com'), str('speed', 'fast')])],
        [
          str('host.name', 'ana laptop'),
          str('team.id', 'platform'),
          str('service.name', 'claude-code'),
        ],
      ),
      NOW,
    );
    expect(problems.size).toBe(0);
    expect(items).toEqual([
      {
        agent: 'claude',
        key: 'o\u0000req_1',
        requestId: 'req_1',
        session: null,
        machine: 'ana-laptop',
        model: 'claude-sonnet-4-5',
        fast: true,
        ts: NOW - 60_000,
        counts: [10, 20, 30, 40],
        reasoning: 0,
        extra: 0,
        reportedCostUsd: null,
        attributes: { 'user.email': 'ana@example.com', 'team.id': 'platform' },
      },
    ]);
  });

  it('reads Codex’s response.completed: cached input out of input, reasoning kept, keyed by conversation and figures', () => {
    const completed = (extra: Record<string, unknown>[] = []) => ({
      timeUnixNano: ns(NOW - 30_000),
      attributes: [
        str('event.name', 'codex.sse_event'),
        str('event.kind', 'response.completed'),
        str('conversation.id', '0199a1b2-0000-7000-8000-000000000001'),
        str('model', 'gpt-5.1-codex'),
        str('user.email', 'ana@example.com'),
        str('app.version', '0.63.0'),
        int('input_token_count', 12_000),
        int('cached_token_count', 8_000),
        int('output_token_count', 900),
        int('reasoning_token_count', 300),
        int('tool_token_count', 0),
        ...extra,
      ],
    });
    const other = {
      timeUnixNano: ns(NOW),
      attributes: [
        str('event.name', 'codex.sse_event'),
        str('event.kind', 'response.output_item.done'),
      ],
    };
    const { items, problems } = decodeLogs(logs([completed(), other]), NOW);
    expect(problems.size).toBe(0);
    expect(items).toEqual([
      {
        agent: 'codex',
        key: 'a\u0000codex\u00000199a1b2-0000-7000-8000-000000000001|gpt-5.1-codex|12000|8000|900|300',
        requestId: null,
        session: '0199a1b2-0000-7000-8000-000000000001',
        machine: 'otlp',
        model: 'gpt-5.1-codex',
        fast: false,
        ts: NOW - 30_000,
        counts: [4_000, 900, 0, 8_000],
        reasoning: 300,
        extra: 0,
        reportedCostUsd: null,
        attributes: { 'user.email': 'ana@example.com', 'app.version': '0.63.0' },
      },
    ]);
    // A wrong type, a huge count: named, the rest kept.
    const bad = decodeLogs(
      logs([
        completed([str('input_token_count', 'many')]),
        completed([int('output_token_count', 1e12)]),
        completed(),
      ]),
      NOW,
    );
    expect(bad.items).toHaveLength(1);
    expect([...bad.problems.entries()]).toEqual([
      ['codex.sse_event token counts must be integers from 0 to 100000000', 2],
    ]);
  });

  it('reads Gemini CLI’s api_response as its chat records are read: thoughts priced as output', () => {
    const response = {
      timeUnixNano: ns(NOW - 10_000),
      attributes: [
        str('event.name', 'gemini_cli.api_response'),
        str('session.id', 'sess-1'),
        str('prompt_id', 'p-1'),
        str('model', 'gemini-2.5-pro'),
        int('input_token_count', 18_000),
        int('cached_content_token_count', 12_000),
        int('output_token_count', 700),
        int('thoughts_token_count', 450),
        int('tool_token_count', 0),
        int('total_token_count', 19_150),
      ],
    };
    const { items, problems } = decodeLogs(logs([response]), NOW);
    expect(problems.size).toBe(0);
    expect(items[0]).toMatchObject({
      agent: 'gemini',
      key: 'a\u0000gemini\u0000sess-1|gemini-2.5-pro|18000|700|12000|450|0',
      session: 'sess-1',
      counts: [6_000, 700, 0, 12_000],
      reasoning: 450,
      extra: 450,
    });
  });

  it('refuses a record whose text was not UTF-8 (protobuf bytes), naming why', () => {
    const codec = new OtlpCodec();
    const type = codec.root.lookupType('otlp.ExportLogsServiceRequest');
    const request = logs([
      {
        timeUnixNano: ns(NOW - 5_000),
        attributes: [
          { key: 'event.name', value: { stringValue: 'gemini_cli.api_response' } },
          { key: 'session.id', value: { stringValue: 'sess-XX' } },
          { key: 'model', value: { stringValue: 'gemini-2.5-pro' } },
          { key: 'input_token_count', value: { intValue: '5' } },
        ],
      },
    ]);
    const bytes = Buffer.from(type.encode(type.fromObject(request)).finish());
    const at = bytes.indexOf('sess-XX');
    bytes[at + 5] = 0xff;
    bytes[at + 6] = 0xfe;
    const { items, problems } = decodeLogs(codec.decode('logs', 'protobuf', bytes), NOW);
    expect(items).toEqual([]);
    expect([...problems.entries()]).toEqual([
      ['gemini_cli.api_response with text that is not UTF-8', 1],
    ]);
  });

  it('skips other events and names each event it cannot keep', () => {
    const noModel = apiRequest();
    noModel.attributes = noModel.attributes.filter((a) => a.key !== 'model');
    const future = { ...apiRequest(), timeUnixNano: ns(NOW + 2 * 86_400_000) };
    const { items, problems } = decodeLogs(
      logs([{ attributes: [str('event.name', 'user_prompt')] }, noModel, noModel, future]),
      NOW,
    );
    expect(items).toEqual([]);
    const result = receiveResult(0, problems);
    expect(result.rejected).toBe(3);
    expect(result.message).toBe(
      '2 × api_request without a model; 1 × api_request without a time from 2000 to a day ahead',
    );
  });

  it('keys an event without request id by client id, else by session and sequence', () => {
    const plain = (extra: Record<string, unknown>[]) => {
      const record = apiRequest(extra);
      record.attributes = record.attributes.filter((a) => a.key !== 'request_id');
      return record;
    };
    const { items, problems } = decodeLogs(
      logs([
        plain([str('client_request_id', 'c1')]),
        plain([str('session.id', 's1'), int('event.sequence', 7)]),
        plain([]),
      ]),
      NOW,
    );
    expect(items.map((i) => i.key)).toEqual(['c\u0000c1', 's\u0000s1\u00007']);
    expect([...problems.keys()]).toEqual([
      'api_request without request_id, client_request_id or session.id + event.sequence',
    ]);
  });
});

describe('decodeMetrics', () => {
  const metrics = (name: string, temporality: number, points: Record<string, unknown>[]) => ({
    resourceMetrics: [
      {
        scopeMetrics: [
          { metrics: [{ name, sum: { aggregationTemporality: temporality, dataPoints: points } }] },
        ],
      },
    ],
  });

  it("keeps Claude Code's counters, labelled by their series attributes, in their minute", () => {
    const request = metrics('claude_code.token.usage', 2, [
      {
        startTimeUnixNano: ns(NOW - 600_000),
        timeUnixNano: ns(NOW - 90_000),
        asDouble: 1500,
        attributes: [str('type', 'input'), str('model', 'claude-opus-4-1'), str('session.id', 's')],
      },
    ]);
    const { items, problems } = decodeMetrics('ana', request, NOW);
    expect(problems.size).toBe(0);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      metric: 'token.usage',
      label: 'input|claude-opus-4-1',
      minute: Math.floor((NOW - 90_000) / 60_000),
      value: 1500,
      cumulative: true,
      startNs: ns(NOW - 600_000),
      timeNs: ns(NOW - 90_000),
    });
    expect(items[0].key).toMatch(/^[0-9a-f]{64}$/);
    // The same point of another member is another series.
    expect(decodeMetrics('bo', request, NOW).items[0].series).not.toBe(items[0].series);
  });

  it('ignores other metrics and refuses points without a value or a time', () => {
    expect(
      decodeMetrics('ana', metrics('http.server.duration', 1, [{ asDouble: 1 }]), NOW).items,
    ).toEqual([]);
    const { items, problems } = decodeMetrics(
      'ana',
      metrics('claude_code.cost.usage', 1, [
        { timeUnixNano: ns(NOW), asDouble: -1 },
        { timeUnixNano: ns(NOW), asInt: '3' },
        { asDouble: 1 },
      ]),
      NOW,
    );
    expect(items.map((p) => [p.value, p.cumulative])).toEqual([[3, false]]);
    expect(Object.fromEntries(problems)).toEqual({
      'data point without a value ≥ 0': 1,
      'data point without a time from 2000 to a day ahead': 1,
    });
  });
});
