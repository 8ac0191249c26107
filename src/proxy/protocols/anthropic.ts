import type { IncomingHttpHeaders } from 'node:http';
import { bearerToken, firstString } from '../../auth/authenticator';
import { count, isObject, type MeteredUsage, type UsageReader } from '../usage-meter';
import {
  MEMBER_TOKEN_HEADER,
  type ProxyErrorKind,
  type ProxyProtocol,
  requestedInBody,
} from './protocol';

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
 * The Messages API's usage: a stream's `message_start` (id, model, usage), then each
 * `message_delta`'s cumulative usage, `message_stop` completing it; a whole answer's `usage`.
 */
export const anthropicUsage: UsageReader = {
  marks: ['"message_start"', '"message_delta"', '"message_stop"'],
  event(data, usage) {
    if (data.type === 'message_start') {
      takeMessage(usage, data.message);
      return true;
    }
    if (data.type === 'message_delta') takeUsage(usage, data.usage);
    else if (data.type === 'message_stop') usage.complete = usage.messageId !== null;
    return false;
  },
  body(data, usage) {
    if (!isObject(data) || data.type !== 'message' || !isObject(data.usage)) return false;
    takeMessage(usage, data);
    return true;
  },
};

const ERROR_TYPE: Record<ProxyErrorKind, string> = {
  authentication: 'authentication_error',
  invalid_request: 'invalid_request_error',
  too_large: 'request_too_large',
  rate_limit: 'rate_limit_error',
  billing: 'billing_error',
  unavailable: 'api_error',
  unreachable: 'api_error',
  timeout: 'api_error',
  internal: 'api_error',
};

/**
 * Claude Code's model API (Anthropic Messages), as its "gateway protocol" page asks a gateway to
 * relay it: `POST /v1/messages` and `/v1/messages/count_tokens`, `GET /v1/models`. A member
 * token arrives as `Authorization: Bearer` (ANTHROPIC_AUTH_TOKEN) or `x-api-key`; the gateway's
 * key goes as `x-api-key`.
 */
export function anthropicProtocol(url: string, apiKey: string | undefined): ProxyProtocol {
  return {
    agent: 'claude',
    keyVariable: 'PROXY_ANTHROPIC_API_KEY',
    upstream: new URL(url),
    pathPrefix: '',
    apiKey: apiKey ?? '',
    routes: [
      { method: 'POST', path: '/v1/messages', metered: () => true },
      { method: 'POST', path: '/v1/messages/count_tokens', metered: () => false },
      { method: 'GET', path: '/v1/models', metered: () => false },
    ],
    credentialHeaders: ['authorization', 'x-api-key'],
    credential: (headers: IncomingHttpHeaders) =>
      bearerToken(headers.authorization) ?? firstString(headers['x-api-key']),
    keyHeaders: (key) => ({ 'x-api-key': key }),
    errorBody: (kind, message) => ({ type: 'error', error: { type: ERROR_TYPE[kind], message } }),
    usage: anthropicUsage,
    session: (headers) => firstString(headers['x-claude-code-session-id']) ?? null,
    requestId: (headers) => firstString(headers['request-id']) ?? null,
    requested: (_path, body) => requestedInBody(body, 'max_tokens'),
    // The answer names the model (as the transcript line does): the body is read only without it.
    rowModel: (_path, body, usage) => usage.model ?? requestedInBody(body, 'max_tokens').model,
    memberHint:
      'name the member: ANTHROPIC_AUTH_TOKEN=<member token> (the gateway holds the API key), or ' +
      `your own credential with ANTHROPIC_CUSTOM_HEADERS="${MEMBER_TOKEN_HEADER}: <member token>"`,
  };
}
