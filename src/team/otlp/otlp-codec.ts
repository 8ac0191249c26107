import * as protobuf from 'protobufjs';
import { OTLP_SCHEMA } from './otlp-schema';

export type OtlpSignal = 'metrics' | 'logs';
export type OtlpEncoding = 'protobuf' | 'json';

const SERVICES: Record<OtlpSignal, { request: string; response: string }> = {
  metrics: {
    request: 'otlp.ExportMetricsServiceRequest',
    response: 'otlp.ExportMetricsServiceResponse',
  },
  logs: { request: 'otlp.ExportLogsServiceRequest', response: 'otlp.ExportLogsServiceResponse' },
};

/** A body that is not an export request of its signal (answered 400: exporters do not retry it). */
export class OtlpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpDecodeError';
  }
}

/** How decoded messages are turned into plain objects: 64-bit integers as decimal strings. */
const AS_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, defaults: false };

/**
 * OTLP/HTTP bodies (binary protobuf or OTLP/JSON) to plain objects, and answers back, with
 * protobufjs and the messages of otlp-schema.ts: the same objects whichever encoding an exporter
 * chose.
 */
export class OtlpCodec {
  readonly root = protobuf.Root.fromJSON(OTLP_SCHEMA).resolveAll();

  decode(signal: OtlpSignal, encoding: OtlpEncoding, body: unknown): Record<string, unknown> {
    const type = this.root.lookupType(SERVICES[signal].request);
    try {
      const message =
        encoding === 'protobuf'
          ? type.decode(new LenientReader(toBytes(body)))
          : type.fromObject(jsonObject(body) as Record<string, unknown>);
      return type.toObject(message, AS_OBJECT);
    } catch (error) {
      if (error instanceof OtlpDecodeError) throw error;
      throw new OtlpDecodeError(
        `the body is not an OTLP ${signal} export request (${(error as Error).message})`,
      );
    }
  }

  /** The export response (`partial_success` when something was rejected), in the request's encoding. */
  encodeResponse(
    signal: OtlpSignal,
    encoding: OtlpEncoding,
    rejected: number,
    errorMessage: string,
  ): Buffer | Record<string, unknown> {
    const counter = signal === 'metrics' ? 'rejectedDataPoints' : 'rejectedLogRecords';
    const body =
      rejected > 0 || errorMessage ? { partialSuccess: { [counter]: rejected, errorMessage } } : {};
    if (encoding === 'json') return body;
    const type = this.root.lookupType(SERVICES[signal].response);
    return Buffer.from(type.encode(type.fromObject(body)).finish());
  }
}

/**
 * A reader that turns bytes that are not UTF-8 into U+FFFD instead of refusing the whole message
 * (protobufjs checks proto3 strings strictly): the one record that holds them is then refused by
 * name, and the rest of the batch kept (otlp-decode.ts).
 */
class LenientReader extends protobuf.Reader {
  override string(): string {
    const length = this.uint32();
    const start = this.pos;
    if (start + length > this.len)
      throw new RangeError(`index out of range: ${start} + ${length} > ${this.len}`);
    this.pos = start + length;
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, length).toString('utf8');
  }

  override stringVerify(): string {
    return this.string();
  }
}

function toBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  throw new OtlpDecodeError('a protobuf body was expected');
}

function jsonObject(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new OtlpDecodeError('the JSON body is not an object');
  return body;
}
