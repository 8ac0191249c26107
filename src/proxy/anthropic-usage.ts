import { StringDecoder } from 'node:string_decoder';

/** What a Messages API answer says it used (its `usage`), and which message it was. */
export interface MeteredUsage {
  messageId: string | null;
  model: string | null;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  /** Of the cache writes, those kept an hour (`cache_creation.ephemeral_1h_input_tokens`). */
  cacheCreation1hTokens: number;
  /** `usage.speed == "fast"` (fast mode: its own price). */
  fast: boolean;
  /** The answer ended (`message_stop`, or a whole JSON body): false when it was cut. */
  complete: boolean;
}

/** A line of an event stream longer than this is relayed but not read (no usage is that long). */
const MAX_LINE = 1024 * 1024;
/** A JSON answer longer than this is relayed but not read for its usage. */
const MAX_BODY = 16 * 1024 * 1024;

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function emptyUsage(): MeteredUsage {
  return {
    messageId: null,
    model: null,
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationTokens: 0,
    cacheReadTokens: 0,
    cacheCreation1hTokens: 0,
    fast: false,
    complete: false,
  };
}

/** Takes a `usage` object's counts into `into` (a later, cumulative one overrides what it names). */
function takeUsage(into: MeteredUsage, usage: unknown): void {
  if (!isObject(usage)) return;
  into.inputTokens = count(usage.input_tokens) ?? into.inputTokens;
  into.outputTokens = count(usage.output_tokens) ?? into.outputTokens;
  into.cacheCreationTokens = count(usage.cache_creation_input_tokens) ?? into.cacheCreationTokens;
  into.cacheReadTokens = count(usage.cache_read_input_tokens) ?? into.cacheReadTokens;
  if (isObject(usage.cache_creation))
    into.cacheCreation1hTokens =
      count(usage.cache_creation.ephemeral_1h_input_tokens) ?? into.cacheCreation1hTokens;
  if (typeof usage.speed === 'string') into.fast = usage.speed === 'fast';
}

function takeMessage(into: MeteredUsage, message: unknown): void {
  if (!isObject(message)) return;
  if (typeof message.id === 'string') into.messageId = message.id;
  if (typeof message.model === 'string') into.model = message.model;
  takeUsage(into, message.usage);
}

/**
 * Reads the usage of a streamed Messages API answer as its bytes pass, without changing them:
 * `message_start`'s message (id, model, usage), then each `message_delta`'s cumulative usage;
 * `message_stop` completes it. Other events (text, pings, errors) are skipped unread.
 */
export class SseUsageMeter {
  private readonly decoder = new StringDecoder('utf8');
  private readonly usage = emptyUsage();
  private partial = '';
  private skipping = false;
  private seen = false;

  feed(chunk: Buffer): void {
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
  }

  /** What was seen (undefined when no `message_start` came). */
  result(): MeteredUsage | undefined {
    return this.seen ? { ...this.usage } : undefined;
  }

  private line(line: string): void {
    if (!line.startsWith('data:')) return;
    // Only the events that carry usage are parsed (their type is in their data).
    if (
      !line.includes('"message_start"') &&
      !line.includes('"message_delta"') &&
      !line.includes('"message_stop"')
    )
      return;
    let data: unknown;
    try {
      data = JSON.parse(line.slice(5));
    } catch {
      return;
    }
    if (!isObject(data)) return;
    if (data.type === 'message_start') {
      this.seen = true;
      takeMessage(this.usage, data.message);
    } else if (data.type === 'message_delta') takeUsage(this.usage, data.usage);
    else if (data.type === 'message_stop') this.usage.complete = this.seen;
  }
}

/** Reads the usage of a whole (not streamed) Messages API answer, kept aside as its bytes pass. */
export class JsonUsageMeter {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private overflow = false;

  feed(chunk: Buffer): void {
    if (this.overflow) return;
    this.size += chunk.length;
    if (this.size > MAX_BODY) {
      this.overflow = true;
      this.chunks.length = 0;
    } else this.chunks.push(chunk);
  }

  /** The usage, when the body was a message with one; `complete` only when it all arrived. */
  result(ended: boolean): MeteredUsage | undefined {
    if (this.overflow || !ended) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(this.chunks).toString('utf8'));
    } catch {
      return undefined;
    }
    if (!isObject(body) || body.type !== 'message' || !isObject(body.usage)) return undefined;
    const usage = emptyUsage();
    takeMessage(usage, body);
    usage.complete = true;
    return usage;
  }
}
