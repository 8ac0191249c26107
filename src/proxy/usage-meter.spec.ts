import { describe, expect, it } from 'vitest';
import { JsonUsageMeter, SseUsageMeter } from './usage-meter';
import { anthropicUsage } from './protocols/anthropic';
import { openaiUsage } from './protocols/openai';
import { geminiUsage } from './protocols/gemini';

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
const STREAM =
  event('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_1',
      model: 'claude-opus-4-1-20250805',
      usage: {
        input_tokens: 10,
        cache_creation_input_tokens: 300,
        cache_read_input_tokens: 4000,
        output_tokens: 1,
        cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
        speed: 'fast',
      },
    },
  }) +
  event('ping', { type: 'ping' }) +
  event('content_block_delta', {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: 'a "message_start" in the text, ignored' },
  }) +
  event('message_delta', { type: 'message_delta', usage: { output_tokens: 42 } }) +
  event('message_delta', {
    type: 'message_delta',
    usage: { output_tokens: 99, input_tokens: 11 },
  }) +
  event('message_stop', { type: 'message_stop' });

const EXPECTED = {
  messageId: 'msg_1',
  model: 'claude-opus-4-1-20250805',
  inputTokens: 11,
  outputTokens: 99,
  cacheCreationTokens: 300,
  cacheReadTokens: 4000,
  cacheCreation1hTokens: 200,
  reasoningTokens: 0,
  extraTokens: 0,
  fast: true,
  complete: true,
};

describe('SseUsageMeter (Anthropic Messages)', () => {
  it('reads message_start, the last cumulative message_delta and message_stop, however the bytes are cut', () => {
    const bytes = Buffer.from(STREAM);
    for (const size of [1, 2, 7, 64, bytes.length]) {
      const meter = new SseUsageMeter(anthropicUsage);
      for (let i = 0; i < bytes.length; i += size) meter.feed(bytes.subarray(i, i + size));
      expect(meter.result(true), `chunks of ${size}`).toEqual(EXPECTED);
    }
  });

  it('reads it fed event by event (chunks without usage skipped undecoded), and a mark split between chunks', () => {
    const events = STREAM.split(/(?<=\n\n)/);
    const meter = new SseUsageMeter(anthropicUsage);
    for (const one of events) meter.feed(Buffer.from(one));
    expect(meter.result(true)).toEqual(EXPECTED);
    // The last delta's mark is cut in two: the second chunk alone holds no mark, yet is read.
    const at = STREAM.lastIndexOf('"message_delta"') + 5;
    const split = new SseUsageMeter(anthropicUsage);
    split.feed(Buffer.from(STREAM.slice(0, at)));
    split.feed(Buffer.from(STREAM.slice(at)));
    expect(split.result(true)).toEqual(EXPECTED);
  });

  it('takes CRLF line ends, and a multi-byte character split between chunks', () => {
    const text = STREAM.replaceAll('\n', '\r\n').replace('ignored', 'ignoré €');
    const bytes = Buffer.from(text);
    const meter = new SseUsageMeter(anthropicUsage);
    for (let i = 0; i < bytes.length; i += 3) meter.feed(bytes.subarray(i, i + 3));
    expect(meter.result(true)).toEqual(EXPECTED);
  });

  it('is incomplete without message_stop, undefined without message_start, and skips an overlong line', () => {
    const cut = new SseUsageMeter(anthropicUsage);
    cut.feed(Buffer.from(STREAM.slice(0, STREAM.indexOf('event: message_stop'))));
    expect(cut.result(false)).toEqual({ ...EXPECTED, complete: false });
    const none = new SseUsageMeter(anthropicUsage);
    none.feed(Buffer.from(event('ping', { type: 'ping' })));
    expect(none.result(true)).toBeUndefined();
    const long = new SseUsageMeter(anthropicUsage);
    long.feed(Buffer.from(`data: ${'x'.repeat(2 * 1024 * 1024)}\n`));
    long.feed(Buffer.from(STREAM));
    expect(long.result(true)).toEqual(EXPECTED);
  });
});

describe('JsonUsageMeter (Anthropic Messages)', () => {
  it('reads a whole message body once it has all arrived', () => {
    const body = Buffer.from(
      JSON.stringify({
        id: 'msg_2',
        type: 'message',
        model: 'claude-haiku-4-5',
        usage: { input_tokens: 5, output_tokens: 6 },
      }),
    );
    const meter = new JsonUsageMeter(anthropicUsage);
    meter.feed(body.subarray(0, 10));
    meter.feed(body.subarray(10));
    expect(meter.result(false)).toBeUndefined();
    expect(meter.result(true)).toMatchObject({
      messageId: 'msg_2',
      model: 'claude-haiku-4-5',
      inputTokens: 5,
      outputTokens: 6,
      complete: true,
    });
    const error = new JsonUsageMeter(anthropicUsage);
    error.feed(Buffer.from('{"type":"error","error":{"type":"x","message":"y"}}'));
    expect(error.result(true)).toBeUndefined();
  });
});

/** A Responses API stream as the API writes it (codex-rs/codex-api/src/sse/responses.rs reads it). */
const RESPONSES =
  event('response.created', {
    type: 'response.created',
    response: { id: 'resp_1', object: 'response', model: 'gpt-5.1-codex', usage: null },
  }) +
  event('response.output_text.delta', {
    type: 'response.output_text.delta',
    delta: 'a "response.completed" in the text, ignored',
  }) +
  event('response.completed', {
    type: 'response.completed',
    response: {
      id: 'resp_1',
      object: 'response',
      model: 'gpt-5.1-codex',
      usage: {
        input_tokens: 12000,
        input_tokens_details: { cached_tokens: 8000 },
        output_tokens: 900,
        output_tokens_details: { reasoning_tokens: 300 },
        total_tokens: 12900,
      },
    },
  });

describe('the Responses API (Codex)', () => {
  const expected = {
    messageId: 'resp_1',
    model: 'gpt-5.1-codex',
    inputTokens: 4000,
    cacheReadTokens: 8000,
    outputTokens: 900,
    reasoningTokens: 300,
    complete: true,
  };

  it('reads response.completed: input without the cached part, reasoning within output', () => {
    const bytes = Buffer.from(RESPONSES);
    for (const size of [1, 5, bytes.length]) {
      const meter = new SseUsageMeter(openaiUsage);
      for (let i = 0; i < bytes.length; i += size) meter.feed(bytes.subarray(i, i + size));
      expect(meter.result(true), `chunks of ${size}`).toMatchObject(expected);
    }
  });

  it('has nothing to record for a stream cut before its final event, and reads a whole response', () => {
    const cut = new SseUsageMeter(openaiUsage);
    cut.feed(Buffer.from(RESPONSES.slice(0, RESPONSES.indexOf('event: response.completed'))));
    expect(cut.result(false)).toBeUndefined();
    const whole = new JsonUsageMeter(openaiUsage);
    const completed = RESPONSES.slice(RESPONSES.lastIndexOf('data: ') + 6).trim();
    whole.feed(
      Buffer.from(JSON.stringify((JSON.parse(completed) as { response: unknown }).response)),
    );
    expect(whole.result(true)).toMatchObject(expected);
  });
});

/** Gemini's stream (`alt=sse`): every chunk carries the usage so far. */
const chunk = (text: string, usage: Record<string, number>, finish?: string) =>
  `data: ${JSON.stringify({
    candidates: [
      {
        content: { role: 'model', parts: [{ text }] },
        ...(finish ? { finishReason: finish } : {}),
      },
    ],
    usageMetadata: usage,
    modelVersion: 'gemini-2.5-pro',
    responseId: 'r-1',
  })}\r\n\r\n`;
const GEMINI =
  chunk('Hel', { promptTokenCount: 5000, totalTokenCount: 5000 }) +
  chunk(
    'lo',
    {
      promptTokenCount: 5000,
      cachedContentTokenCount: 4000,
      candidatesTokenCount: 40,
      thoughtsTokenCount: 100,
      totalTokenCount: 5140,
    },
    'STOP',
  );

describe('Gemini generateContent (Gemini CLI)', () => {
  const expected = {
    messageId: 'r-1',
    model: 'gemini-2.5-pro',
    inputTokens: 1000,
    cacheReadTokens: 4000,
    outputTokens: 40,
    reasoningTokens: 100,
    extraTokens: 100,
    complete: true,
  };

  it("reads the last chunk's usage metadata as Gemini CLI's telemetry counts it", () => {
    const meter = new SseUsageMeter(geminiUsage);
    const bytes = Buffer.from(GEMINI);
    for (let i = 0; i < bytes.length; i += 7) meter.feed(bytes.subarray(i, i + 7));
    expect(meter.result(true)).toMatchObject(expected);
    const cut = new SseUsageMeter(geminiUsage);
    cut.feed(Buffer.from(GEMINI.slice(0, GEMINI.lastIndexOf('data: '))));
    expect(cut.result(false)).toMatchObject({ inputTokens: 5000, complete: false });
  });

  it('reads a whole answer, and the JSON array of streamGenerateContent without alt=sse', () => {
    const bodies = GEMINI.split('\r\n\r\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line.slice(6)) as unknown);
    const one = new JsonUsageMeter(geminiUsage);
    one.feed(Buffer.from(JSON.stringify(bodies[1])));
    expect(one.result(true)).toMatchObject(expected);
    const array = new JsonUsageMeter(geminiUsage);
    array.feed(Buffer.from(JSON.stringify(bodies)));
    expect(array.result(true)).toMatchObject(expected);
  });
});
