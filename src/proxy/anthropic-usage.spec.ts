import { describe, expect, it } from 'vitest';
import { JsonUsageMeter, SseUsageMeter } from './anthropic-usage';

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
  fast: true,
  complete: true,
};

describe('SseUsageMeter', () => {
  it('reads message_start, the last cumulative message_delta and message_stop, however the bytes are cut', () => {
    const bytes = Buffer.from(STREAM);
    for (const size of [1, 2, 7, 64, bytes.length]) {
      const meter = new SseUsageMeter();
      for (let i = 0; i < bytes.length; i += size) meter.feed(bytes.subarray(i, i + size));
      expect(meter.result(), `chunks of ${size}`).toEqual(EXPECTED);
    }
  });

  it('takes CRLF line ends, and a multi-byte character split between chunks', () => {
    const text = STREAM.replaceAll('\n', '\r\n').replace('ignored', 'ignoré €');
    const bytes = Buffer.from(text);
    const meter = new SseUsageMeter();
    for (let i = 0; i < bytes.length; i += 3) meter.feed(bytes.subarray(i, i + 3));
    expect(meter.result()).toEqual(EXPECTED);
  });

  it('is incomplete without message_stop, undefined without message_start, and skips an overlong line', () => {
    const cut = new SseUsageMeter();
    cut.feed(Buffer.from(STREAM.slice(0, STREAM.indexOf('event: message_stop'))));
    expect(cut.result()).toEqual({ ...EXPECTED, complete: false });
    const none = new SseUsageMeter();
    none.feed(Buffer.from(event('ping', { type: 'ping' })));
    expect(none.result()).toBeUndefined();
    const long = new SseUsageMeter();
    long.feed(Buffer.from(`data: ${'x'.repeat(2 * 1024 * 1024)}\n`));
    long.feed(Buffer.from(STREAM));
    expect(long.result()).toEqual(EXPECTED);
  });
});

describe('JsonUsageMeter', () => {
  it('reads a whole message body once it has all arrived', () => {
    const body = Buffer.from(
      JSON.stringify({
        id: 'msg_2',
        type: 'message',
        model: 'claude-haiku-4-5',
        usage: { input_tokens: 5, output_tokens: 6 },
      }),
    );
    const meter = new JsonUsageMeter();
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
    const error = new JsonUsageMeter();
    error.feed(Buffer.from('{"type":"error","error":{"type":"x","message":"y"}}'));
    expect(error.result(true)).toBeUndefined();
  });
});
