import { SSE_HEADERS, startRecordingUpstream } from './recording-upstream';

/** How the upstream answers, chosen by the request's `x-test-scenario`. */
export type GeminiScenario = 'ok' | 'invalid' | 'hang';

/** The final usage metadata of every answer (prompt includes the cached part). */
export const GEMINI_USAGE = {
  promptTokenCount: 20_000,
  candidatesTokenCount: 700,
  cachedContentTokenCount: 5_000,
  thoughtsTokenCount: 300,
  totalTokenCount: 21_000,
};

/**
 * A local Gemini API (`models/<model>:<call>`) as its reference describes it: `generateContent`
 * answers a GenerateContentResponse, `streamGenerateContent?alt=sse` a stream of them (`data:`
 * lines ended by CRLF CRLF, each with the usage metadata so far, the last with `finishReason`),
 * without `alt=sse` a JSON array; `countTokens` a count; errors `{"error":{code,message,status}}`.
 */
export function startGeminiUpstream() {
  return startRecordingUpstream((req, res, body, id) => {
    const [path, query = ''] = req.url!.split('?');
    const call = /\/models\/([^/:]+):(\w+)$/.exec(path);
    const scenario = (req.headers['x-test-scenario'] as GeminiScenario | undefined) ?? 'ok';
    if (!call || scenario === 'invalid') {
      res.writeHead(400, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(
        JSON.stringify({
          error: {
            code: 400,
            message: '* GenerateContentRequest.contents: contents is not specified\n',
            status: 'INVALID_ARGUMENT',
          },
        }),
      );
      return;
    }
    const [, model, action] = call;
    if (action === 'countTokens') {
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify({ totalTokens: 4242 }));
      return;
    }
    const chunk = (text: string, usage: Record<string, number>, finish?: string) => ({
      candidates: [
        {
          content: { role: 'model', parts: [{ text }] },
          ...(finish ? { finishReason: finish } : {}),
          index: 0,
        },
      ],
      usageMetadata: usage,
      modelVersion: model,
      responseId: `r-${id}`,
    });
    const chunks = [
      chunk('Hello', { promptTokenCount: GEMINI_USAGE.promptTokenCount, totalTokenCount: 20_000 }),
      chunk(' there.', GEMINI_USAGE, 'STOP'),
    ];
    if (action === 'generateContent') {
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(chunk('Hello there.', GEMINI_USAGE, 'STOP')));
      return;
    }
    if (!/(^|&)alt=sse(&|$)/.test(query)) {
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(chunks));
      return;
    }
    res.writeHead(200, SSE_HEADERS);
    res.write(`data: ${JSON.stringify(chunks[0])}\r\n\r\n`);
    if (scenario === 'hang') return;
    res.end(`data: ${JSON.stringify(chunks[1])}\r\n\r\n`);
  });
}
