import type { INamespace } from 'protobufjs';

/*
 * The OTLP messages the receiver decodes (OTLP/HTTP, `POST /v1/logs` and `POST /v1/metrics`),
 * described for protobufjs in our own words: only the fields we read, under the names and
 * numbers of the wire format (OTLP 1.x, opentelemetry-proto's logs, metrics, common and resource
 * messages). A field not described here (histograms, exemplars, trace ids, …) is skipped when a
 * binary body is decoded and ignored in a JSON one. Field names are lowerCamelCase, as OTLP/JSON
 * writes them; 64-bit integers come out as decimal strings (see OtlpCodec).
 * test/team-otlp.e2e-spec.ts holds this to what the OpenTelemetry SDK's exporters send.
 */

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;
const message = (fields: Fields, oneofs?: Record<string, string[]>) => ({
  fields,
  ...(oneofs
    ? { oneofs: Object.fromEntries(Object.entries(oneofs).map(([k, v]) => [k, { oneof: v }])) }
    : {}),
});
const repeated = (type: string, id: number) => ({ type, id, rule: 'repeated' as const });

export const OTLP_SCHEMA: INamespace = {
  nested: {
    otlp: {
      nested: {
        // common/v1 and resource/v1
        AnyValue: message(
          {
            stringValue: { type: 'string', id: 1 },
            boolValue: { type: 'bool', id: 2 },
            intValue: { type: 'int64', id: 3 },
            doubleValue: { type: 'double', id: 4 },
            arrayValue: { type: 'ArrayValue', id: 5 },
            kvlistValue: { type: 'KeyValueList', id: 6 },
            bytesValue: { type: 'bytes', id: 7 },
          },
          {
            value: [
              'stringValue',
              'boolValue',
              'intValue',
              'doubleValue',
              'arrayValue',
              'kvlistValue',
              'bytesValue',
            ],
          },
        ),
        ArrayValue: message({ values: repeated('AnyValue', 1) }),
        KeyValueList: message({ values: repeated('KeyValue', 1) }),
        KeyValue: message({ key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } }),
        Resource: message({ attributes: repeated('KeyValue', 1) }),

        // logs/v1 and collector/logs/v1
        ExportLogsServiceRequest: message({ resourceLogs: repeated('ResourceLogs', 1) }),
        ResourceLogs: message({
          resource: { type: 'Resource', id: 1 },
          scopeLogs: repeated('ScopeLogs', 2),
        }),
        ScopeLogs: message({ logRecords: repeated('LogRecord', 2) }),
        LogRecord: message({
          timeUnixNano: { type: 'fixed64', id: 1 },
          observedTimeUnixNano: { type: 'fixed64', id: 11 },
          body: { type: 'AnyValue', id: 5 },
          attributes: repeated('KeyValue', 6),
          eventName: { type: 'string', id: 12 },
        }),
        ExportLogsServiceResponse: message({
          partialSuccess: { type: 'ExportLogsPartialSuccess', id: 1 },
        }),
        ExportLogsPartialSuccess: message({
          rejectedLogRecords: { type: 'int64', id: 1 },
          errorMessage: { type: 'string', id: 2 },
        }),

        // metrics/v1 and collector/metrics/v1 (of the metric kinds, only Sum: Claude Code's
        // counters)
        ExportMetricsServiceRequest: message({ resourceMetrics: repeated('ResourceMetrics', 1) }),
        ResourceMetrics: message({
          resource: { type: 'Resource', id: 1 },
          scopeMetrics: repeated('ScopeMetrics', 2),
        }),
        ScopeMetrics: message({ metrics: repeated('Metric', 2) }),
        Metric: message({ name: { type: 'string', id: 1 }, sum: { type: 'Sum', id: 7 } }),
        Sum: message({
          dataPoints: repeated('NumberDataPoint', 1),
          // AggregationTemporality: 1 delta, 2 cumulative.
          aggregationTemporality: { type: 'int32', id: 2 },
          isMonotonic: { type: 'bool', id: 3 },
        }),
        NumberDataPoint: message(
          {
            attributes: repeated('KeyValue', 7),
            startTimeUnixNano: { type: 'fixed64', id: 2 },
            timeUnixNano: { type: 'fixed64', id: 3 },
            asDouble: { type: 'double', id: 4 },
            asInt: { type: 'sfixed64', id: 6 },
          },
          { value: ['asDouble', 'asInt'] },
        ),
        ExportMetricsServiceResponse: message({
          partialSuccess: { type: 'ExportMetricsPartialSuccess', id: 1 },
        }),
        ExportMetricsPartialSuccess: message({
          rejectedDataPoints: { type: 'int64', id: 1 },
          errorMessage: { type: 'string', id: 2 },
        }),
      },
    },
  },
};
