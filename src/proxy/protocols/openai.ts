import { bearerToken, firstString } from '../../auth/authenticator';
import { count, isObject, type MeteredUsage, type UsageReader } from '../usage-meter';
import {
  askedModel,
  MEMBER_TOKEN_HEADER,
  type ProxyErrorKind,
  type ProxyProtocol,
  leadingModel,
  requestedInBody,
} from './protocol';

/** The final events of a Responses API stream (each carries the response with its usage). */
const FINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** A response object's id, model and usage into `into`; true when it had usage. */
function takeResponse(into: MeteredUsage, response: unknown): boolean {
  if (!isObject(response)) return false;
  if (typeof response.id === 'string') into.messageId = response.id;
  if (typeof response.model === 'string') into.model = response.model;
  const usage = response.usage;
  if (!isObject(usage)) return false;
  // `input_tokens` includes the cached part, `output_tokens` the reasoning (codex-rs TokenUsage).
  const input = count(usage.input_tokens) ?? 0;
  const cached = Math.min(
    input,
    (isObject(usage.input_tokens_details) ? count(usage.input_tokens_details.cached_tokens) : 0) ??
      0,
  );
  into.inputTokens = input - cached;
  into.cacheReadTokens = cached;
  into.outputTokens = count(usage.output_tokens) ?? 0;
  into.reasoningTokens =
    (isObject(usage.output_tokens_details)
      ? count(usage.output_tokens_details.reasoning_tokens)
      : 0) ?? 0;
  return true;
}

/**
 * The Responses API's usage: a stream's `response.created` names the response, its final event
 * (`response.completed`, or `.incomplete` / `.failed`) carries the response with its usage; a
 * whole answer is the response object.
 */
export const openaiUsage: UsageReader = {
  marks: [
    '"response.created"',
    '"response.completed"',
    '"response.incomplete"',
    '"response.failed"',
  ],
  event(data, usage) {
    if (typeof data.type !== 'string') return false;
    if (data.type === 'response.created') {
      takeResponse(usage, data.response);
      return false;
    }
    if (!FINAL.has(data.type) || !takeResponse(usage, data.response)) return false;
    usage.complete = true;
    return true;
  },
  body(data, usage) {
    return isObject(data) && data.object === 'response' && takeResponse(usage, data);
  },
};

/** OpenAI's error `type` and `code` per kind (Codex reads the code: `insufficient_quota` stops,
 * `rate_limit_exceeded` waits "try again in Ns"). */
const ERRORS: Record<ProxyErrorKind, [string, string | null]> = {
  authentication: ['invalid_request_error', 'invalid_api_key'],
  invalid_request: ['invalid_request_error', null],
  too_large: ['invalid_request_error', 'request_too_large'],
  rate_limit: ['requests', 'rate_limit_exceeded'],
  billing: ['insufficient_quota', 'insufficient_quota'],
  unavailable: ['server_error', null],
  unreachable: ['server_error', null],
  timeout: ['server_error', null],
  internal: ['server_error', null],
};

/**
 * Codex's model API (OpenAI Responses, a `[model_providers.<id>]` with `wire_api = "responses"`):
 * `POST /v1/responses`. The credential is `Authorization: Bearer` (the provider's `env_key`, or
 * the login's token with `requires_openai_auth`); Codex names its conversation in `session_id`.
 */
export function openaiProtocol(url: string, apiKey: string | undefined): ProxyProtocol {
  return {
    agent: 'codex',
    keyVariable: 'PROXY_OPENAI_API_KEY',
    upstream: new URL(url),
    pathPrefix: '/v1',
    apiKey: apiKey ?? '',
    routes: [{ method: 'POST', path: '/v1/responses', metered: () => true }],
    credentialHeaders: ['authorization'],
    credential: (headers) => bearerToken(headers.authorization),
    keyHeaders: (key) => ({ authorization: `Bearer ${key}` }),
    errorBody: (kind, message, retryAfterS) => ({
      error: {
        message:
          kind === 'rate_limit' && retryAfterS !== undefined
            ? `${message} Please try again in ${retryAfterS}s.`
            : message,
        type: ERRORS[kind][0],
        param: null,
        code: ERRORS[kind][1],
      },
    }),
    usage: openaiUsage,
    session: (headers) => firstString(headers.session_id) ?? null,
    requestId: (headers) => firstString(headers['x-request-id']) ?? null,
    requested: (_path, body) => requestedInBody(body, 'max_output_tokens'),
    // As Codex's rollouts and telemetry name it: the model asked for (the answer may name a
    // dated snapshot).
    rowModel: (_path, body, usage) => askedModel(leadingModel(body), usage),
    memberHint:
      'name the member: a model provider whose env_key holds your member token (the gateway holds ' +
      `the API key), or your own credential with http_headers = { "${MEMBER_TOKEN_HEADER}" = "<member token>" }`,
  };
}
