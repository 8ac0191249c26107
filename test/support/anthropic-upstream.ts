import { type Received, startRecordingUpstream } from './recording-upstream';

export type { Received };

/** How the upstream answers a `POST /v1/messages`, chosen by the request's `x-test-scenario`. */
export type Scenario =
  | 'ok'
  | 'invalid' // 400 invalid_request_error, the API's wording
  | 'overloaded' // 529 overloaded_error
  | 'midstream-error' // message_start, some text, then an `error` event
  | 'hang' // message_start, a ping, then nothing until the client goes away
  | 'silent'; // no answer at all

export const USAGE = {
  input_tokens: 1234,
  cache_creation_input_tokens: 2048,
  cache_read_input_tokens: 30_000,
  output_tokens: 1,
};
export const FINAL_OUTPUT_TOKENS = 57;

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * A local Anthropic Messages API as its documentation describes it (event order, pings, errors as
 * bodies and mid-stream): deterministic ids from the request's bytes, so two equal requests get
 * byte-identical answers; every request is kept for the test to inspect.
 */
export function startAnthropicUpstream() {
  return startRecordingUpstream((req, res, body, id) => {
    const path = req.url!.split('?')[0];
    if (path === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_m${id}` });
      res.end(
        JSON.stringify({
          data: [{ id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5' }],
          has_more: false,
        }),
      );
      return;
    }
    if (path === '/v1/messages/count_tokens') {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_c${id}` });
      res.end(JSON.stringify({ input_tokens: 4242 }));
      return;
    }
    const request = JSON.parse(body.toString('utf8')) as { model: string; stream?: boolean };
    const scenario = (req.headers['x-test-scenario'] as Scenario | undefined) ?? 'ok';
    answer();
    function answer() {
      const headers = { 'request-id': `req_${id}`, 'anthropic-organization-id': 'org-test' };
      if (scenario === 'silent') return;
      if (scenario === 'invalid') {
        res.writeHead(400, {
          ...headers,
          'content-type': 'application/json',
          'x-should-retry': 'false',
        });
        res.end(
          JSON.stringify({
            type: 'error',
            error: { type: 'invalid_request_error', message: 'max_tokens: Field required' },
            request_id: `req_${id}`,
          }),
        );
        return;
      }
      if (scenario === 'overloaded') {
        res.writeHead(529, { ...headers, 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            type: 'error',
            error: { type: 'overloaded_error', message: 'Overloaded' },
          }),
        );
        return;
      }
      const message = {
        id: `msg_${id}`,
        type: 'message',
        role: 'assistant',
        model: request.model,
        content: [] as unknown[],
        stop_reason: null,
        stop_sequence: null,
        usage: USAGE,
      };
      if (!request.stream) {
        res.writeHead(200, { ...headers, 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            ...message,
            content: [{ type: 'text', text: 'Hello there.' }],
            stop_reason: 'end_turn',
            usage: { ...USAGE, output_tokens: FINAL_OUTPUT_TOKENS },
          }),
        );
        return;
      }
      res.writeHead(200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
      });
      res.write(event('message_start', { type: 'message_start', message }));
      res.write(
        event('content_block_start', {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'text', text: '' },
        }),
      );
      res.write(event('ping', { type: 'ping' }));
      if (scenario === 'hang') return;
      for (const text of ['Hello', ' there', ', all', ' good.'])
        res.write(
          event('content_block_delta', {
            type: 'content_block_delta',
            index: 0,
            delta: { type: 'text_delta', text },
          }),
        );
      if (scenario === 'midstream-error') {
        res.end(
          event('error', {
            type: 'error',
            error: { type: 'overloaded_error', message: 'Overloaded' },
          }),
        );
        return;
      }
      res.write(event('content_block_stop', { type: 'content_block_stop', index: 0 }));
      res.write(
        event('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: FINAL_OUTPUT_TOKENS },
        }),
      );
      res.end(event('message_stop', { type: 'message_stop' }));
    }
  });
}
