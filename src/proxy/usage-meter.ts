import { StringDecoder } from 'node:string_decoder';

/**
 * What a model API's answer said it used, in the ledger's terms (docs/proxy.md "Metering"):
 * input without the cached part, output (reasoning included where the API counts it so), cache
 * writes and reads, and the agent's own extras.
 */
export interface MeteredUsage {
  /** The answer's own id: Anthropic's message id, the Responses API's response id, Gemini's
   * `responseId`. */
  messageId: string | null;
  /** The model the answer names (else the request's is used). */
  model: string | null;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  /** Of the cache writes, those kept an hour (Anthropic's `ephemeral_1h_input_tokens`). */
  cacheCreation1hTokens: number;
  /** Reasoning tokens (already part of `outputTokens`: OpenAI's, Gemini's thoughts). */
  reasoningTokens: number;
  /** Tokens priced as output beyond `outputTokens` (Gemini's thoughts, as ccusage counts). */
  extraTokens: number;
  /** Anthropic's fast mode (`usage.speed == "fast"`: its own price). */
  fast: boolean;
  /** The answer ended as the API ends one: false when it was cut. */
  complete: boolean;
}

/** How one API's answers carry their usage: the events that matter and how each is read. */
export interface UsageReader {
  /** Strings one of which an event's data holds when it matters (others are skipped unparsed). */
  readonly marks: readonly string[];
  /** Reads a streamed event's data into `usage`; returns true when it was a usage event. */
  event(data: Record<string, unknown>, usage: MeteredUsage): boolean;
  /** Reads a whole JSON answer into `usage`; returns false when it carries no usage. */
  body(data: unknown, usage: MeteredUsage): boolean;
}

/** A line of an event stream longer than this is relayed but not read (no usage is that long). */
const MAX_LINE = 1024 * 1024;
/** A JSON answer longer than this is relayed but not read for its usage. */
const MAX_BODY = 16 * 1024 * 1024;

export const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function emptyUsage(): MeteredUsage {
  return {
    messageId: null,
    model: null,
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationTokens: 0,
    cacheReadTokens: 0,
    cacheCreation1hTokens: 0,
    reasoningTokens: 0,
    extraTokens: 0,
    fast: false,
    complete: false,
  };
}

/** Reads an answer's usage as its bytes pass, without changing them. */
export interface UsageMeter {
  feed(chunk: Buffer): void;
  /** What was read (undefined when the answer carried no usage); `ended`: all of it arrived. */
  result(ended: boolean): MeteredUsage | undefined;
}

const MARK_BYTES = new WeakMap<UsageReader, readonly Buffer[]>();
/** A reader's marks as bytes (made once per reader). */
function markBytes(reader: UsageReader): readonly Buffer[] {
  let bytes = MARK_BYTES.get(reader);
  if (!bytes) MARK_BYTES.set(reader, (bytes = reader.marks.map((mark) => Buffer.from(mark))));
  return bytes;
}

/**
 * A streamed answer (server-sent events): each `data:` line that holds one of the reader's marks
 * is parsed and read; other lines (text, pings, comments) are skipped unparsed.
 */
export class SseUsageMeter implements UsageMeter {
  private readonly decoder = new StringDecoder('utf8');
  private readonly usage = emptyUsage();
  private readonly marks: readonly Buffer[];
  private partial = '';
  private skipping = false;
  private seen = false;
  /** The bytes so far ended with a whole line: nothing pending (no partial line, no half
   * character in the decoder). */
  private atLineStart = true;

  constructor(private readonly reader: UsageReader) {
    this.marks = markBytes(reader);
  }

  feed(chunk: Buffer): void {
    // Most chunks are whole events without usage (text deltas, pings): when nothing is pending and
    // the chunk ends a line, a chunk holding no mark is skipped without being decoded.
    const endsLine = chunk.length > 0 && chunk[chunk.length - 1] === 0x0a;
    if (this.atLineStart && endsLine && !this.marks.some((mark) => chunk.includes(mark))) return;
    this.atLineStart = false;
    const text = this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end < 0) break;
      const line = this.partial + text.slice(start, end);
      this.partial = '';
      if (!this.skipping) this.line(line.endsWith('\r') ? line.slice(0, -1) : line);
      this.skipping = false;
      start = end + 1;
    }
    const rest = text.slice(start);
    if (this.partial.length + rest.length > MAX_LINE) {
      this.partial = '';
      this.skipping = true;
    } else if (!this.skipping) this.partial += rest;
    this.atLineStart = endsLine && this.partial === '' && !this.skipping;
  }

  /** What was seen (a cut stream's `complete` is false: its final event never came). */
  result(_ended?: boolean): MeteredUsage | undefined {
    return this.seen ? { ...this.usage } : undefined;
  }

  private line(line: string): void {
    if (!line.startsWith('data:')) return;
    if (!this.reader.marks.some((mark) => line.includes(mark))) return;
    let data: unknown;
    try {
      data = JSON.parse(line.slice(5));
    } catch {
      return;
    }
    if (isObject(data) && this.reader.event(data, this.usage)) this.seen = true;
  }
}

/** A whole (not streamed) JSON answer, kept aside as its bytes pass and read when it ends. */
export class JsonUsageMeter implements UsageMeter {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private overflow = false;

  constructor(private readonly reader: UsageReader) {}

  feed(chunk: Buffer): void {
    if (this.overflow) return;
    this.size += chunk.length;
    if (this.size > MAX_BODY) {
      this.overflow = true;
      this.chunks.length = 0;
    } else this.chunks.push(chunk);
  }

  result(ended: boolean): MeteredUsage | undefined {
    if (this.overflow || !ended) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(this.chunks).toString('utf8'));
    } catch {
      return undefined;
    }
    const usage = emptyUsage();
    if (!this.reader.body(body, usage)) return undefined;
    usage.complete = true;
    return usage;
  }
}

/** The meter for an answer of `contentType`. */
export const meterFor = (contentType: unknown, reader: UsageReader): UsageMeter =>
  /text\/event-stream/i.test(String(contentType))
    ? new SseUsageMeter(reader)
    : new JsonUsageMeter(reader);
