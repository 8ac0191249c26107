import { SSE_HEADERS, startRecordingUpstream } from './recording-upstream';

/** How the upstream answers a `POST /v1/responses`, chosen by the request's `x-test-scenario`. */
export type OpenAiScenario =
  | 'ok'
  | 'invalid' // 400 invalid_request_error, the API's wording
  | 'failed' // the stream ends with response.failed (a server error, usage null)
  | 'hang'; // response.created, then nothing until the client goes away

/** The usage of every answer: input includes the cached part, output the reasoning. */
export const RESPONSES_USAGE = {
  input_tokens: 12_000,
  input_tokens_details: { cached_tokens: 8_000 },
  output_tokens: 900,
  output_tokens_details: { reasoning_tokens: 300 },
  total_tokens: 12_900,
};

const event = (data: { type: string; [field: string]: unknown }) =>
  `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * A local OpenAI Responses API as its reference and codex-rs (codex-api/src/sse/responses.rs)
 * describe it: a stream of typed events with sequence numbers — `response.created`,
 * `response.in_progress`, the output item and its text deltas, `response.completed` carrying the
 * response with its usage — or the response object whole; errors as `{"error":{…}}` bodies.
 * The response id is derived from the request's bytes: equal requests, byte-identical answers.
 */
export function startOpenAiUpstream() {
  return startRecordingUpstream((req, res, body, id) => {
    const request = JSON.parse(body.toString('utf8')) as { model: string; stream?: boolean };
    const scenario = (req.headers['x-test-scenario'] as OpenAiScenario | undefined) ?? 'ok';
    const headers = { 'x-request-id': `req_${id}`, 'openai-processing-ms': '42' };
    if (scenario === 'invalid') {
      res.writeHead(400, { ...headers, 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: "Invalid value: 'nope'. Supported values are: 'low', 'medium', and 'high'.",
            type: 'invalid_request_error',
            param: 'reasoning.effort',
            code: 'invalid_value',
          },
        }),
      );
      return;
    }
    const response = (status: string, usage: unknown, output: unknown[] = []) => ({
      id: `resp_${id}`,
      object: 'response',
      created_at: 1_765_000_000,
      status,
      model: request.model,
      output,
      usage,
    });
    const item = {
      id: `msg_${id}`,
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Hello there.', annotations: [] }],
    };
    if (!request.stream) {
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify(response('completed', RESPONSES_USAGE, [item])));
      return;
    }
    res.writeHead(200, { ...headers, ...SSE_HEADERS });
    let seq = 0;
    const write = (data: Record<string, unknown> & { type: string }) =>
      res.write(event({ ...data, sequence_number: seq++ }));
    write({ type: 'response.created', response: response('in_progress', null) });
    write({ type: 'response.in_progress', response: response('in_progress', null) });
    if (scenario === 'hang') return;
    write({
      type: 'response.output_item.added',
      output_index: 0,
      item: { ...item, status: 'in_progress', content: [] },
    });
    for (const delta of ['Hello', ' there', '.'])
      write({
        type: 'response.output_text.delta',
        item_id: item.id,
        output_index: 0,
        content_index: 0,
        delta,
      });
    if (scenario === 'failed') {
      write({
        type: 'response.failed',
        response: {
          ...response('failed', null),
          error: { code: 'server_error', message: 'The model failed to generate a response.' },
        },
      });
      res.end();
      return;
    }
    write({ type: 'response.output_item.done', output_index: 0, item });
    write({ type: 'response.completed', response: response('completed', RESPONSES_USAGE, [item]) });
    res.end();
  });
}
