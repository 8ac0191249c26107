import { bearerToken, firstString } from '../../auth/authenticator';
import { geminiTokens } from '../../team/otlp/otlp-decode';
import { count, isObject, type MeteredUsage, type UsageReader } from '../usage-meter';
import {
  askedModel,
  bodyJson,
  MEMBER_TOKEN_HEADER,
  ERROR_STATUS,
  positive,
  type ProxyErrorKind,
  type ProxyProtocol,
} from './protocol';

/** The calls of `models/<model>:<call>` that are model calls (metered). */
const GENERATE = /:(generateContent|streamGenerateContent)$/;

/** The model of a `models/<model>:<call>` path. */
function pathModel(path: string): string {
  const call = /\/models\/([^/:?]+):/.exec(path);
  if (!call) return 'unknown';
  try {
    return decodeURIComponent(call[1]);
  } catch {
    return call[1];
  }
}

/** A GenerateContentResponse's id, model version and usage metadata; true when it had usage. */
function takeResponse(into: MeteredUsage, response: unknown): boolean {
  if (!isObject(response)) return false;
  if (typeof response.responseId === 'string') into.messageId = response.responseId;
  if (typeof response.modelVersion === 'string') into.model = response.modelVersion;
  const meta = response.usageMetadata;
  if (!isObject(meta)) return false;
  // As Gemini CLI's telemetry and chat records count the same metadata (otlp-decode geminiTokens).
  const thoughts = count(meta.thoughtsTokenCount) ?? 0;
  const tokens = geminiTokens(
    count(meta.promptTokenCount) ?? 0,
    count(meta.candidatesTokenCount) ?? 0,
    count(meta.cachedContentTokenCount) ?? 0,
    thoughts,
    count(meta.toolUsePromptTokenCount) ?? 0,
    count(meta.totalTokenCount),
  );
  into.inputTokens = tokens.input;
  into.outputTokens = tokens.output;
  into.cacheReadTokens = tokens.cacheRead;
  into.reasoningTokens = thoughts;
  into.extraTokens = tokens.extra;
  const candidates = Array.isArray(response.candidates) ? (response.candidates as unknown[]) : [];
  if (candidates.some((c) => isObject(c) && typeof c.finishReason === 'string'))
    into.complete = true;
  return true;
}

/**
 * Gemini's usage: every chunk of a stream carries the usage metadata so far (the last one the
 * whole call's), its `finishReason` ends it; a whole answer is one response, or an array of them
 * (`streamGenerateContent` without `alt=sse`).
 */
export const geminiUsage: UsageReader = {
  marks: ['"usageMetadata"'],
  event: (data, usage) => takeResponse(usage, data),
  body(data, usage) {
    const responses = Array.isArray(data) ? (data as unknown[]) : [data];
    let found = false;
    for (const response of responses) found = takeResponse(usage, response) || found;
    return found;
  },
};

const STATUS: Record<ProxyErrorKind, string> = {
  authentication: 'UNAUTHENTICATED',
  invalid_request: 'INVALID_ARGUMENT',
  too_large: 'INVALID_ARGUMENT',
  rate_limit: 'RESOURCE_EXHAUSTED',
  billing: 'RESOURCE_EXHAUSTED',
  unavailable: 'UNAVAILABLE',
  unreachable: 'UNAVAILABLE',
  timeout: 'DEADLINE_EXCEEDED',
  internal: 'INTERNAL',
};

/**
 * Gemini CLI's model API (`GOOGLE_GEMINI_BASE_URL`): `POST /v1beta/models/<model>:<call>` (and
 * `/v1/…`), `:generateContent` and `:streamGenerateContent` metered, `:countTokens` and the rest
 * relayed. The key arrives as `x-goog-api-key` (GEMINI_API_KEY), or a bearer with
 * GEMINI_API_KEY_AUTH_MECHANISM=bearer; headers of one's own through GEMINI_CLI_CUSTOM_HEADERS.
 */
export function geminiProtocol(url: string, apiKey: string | undefined): ProxyProtocol {
  const metered = (path: string) => GENERATE.test(path);
  return {
    agent: 'gemini',
    keyVariable: 'PROXY_GEMINI_API_KEY',
    upstream: new URL(url),
    pathPrefix: '',
    apiKey: apiKey ?? '',
    routes: [
      { method: 'POST', path: '/v1beta/models/:call', metered },
      { method: 'POST', path: '/v1/models/:call', metered },
    ],
    credentialHeaders: ['x-goog-api-key', 'authorization'],
    credential: (headers) =>
      firstString(headers['x-goog-api-key']) ?? bearerToken(headers.authorization),
    keyHeaders: (key) => ({ 'x-goog-api-key': key }),
    errorBody: (kind, message, retryAfterS) => ({
      error: {
        code: ERROR_STATUS[kind],
        message,
        status: STATUS[kind],
        // Gemini CLI stops on a QuotaFailure whose quota is a daily one, and waits RetryInfo's
        // delay on a rate limit (packages/core/src/utils/googleQuotaErrors.ts).
        ...(kind === 'billing'
          ? {
              details: [
                {
                  '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
                  violations: [{ quotaId: 'UsageGatewayBudget-PerDay', description: message }],
                },
              ],
            }
          : kind === 'rate_limit' && retryAfterS !== undefined
            ? {
                details: [
                  {
                    '@type': 'type.googleapis.com/google.rpc.RetryInfo',
                    retryDelay: `${retryAfterS}s`,
                  },
                ],
              }
            : {}),
      },
    }),
    usage: geminiUsage,
    session: () => null,
    requestId: () => null,
    requested(path, body) {
      const json = bodyJson(body);
      const config = isObject(json.generationConfig) ? json.generationConfig : {};
      return { model: pathModel(path), maxOutputTokens: positive(config.maxOutputTokens) };
    },
    // As Gemini CLI's chat records and telemetry name it: the model asked for.
    rowModel: (path, _body, usage) => askedModel(pathModel(path), usage),
    memberHint:
      'name the member: GEMINI_API_KEY=<member token> (the gateway holds the API key), or your own ' +
      `key with GEMINI_CLI_CUSTOM_HEADERS="${MEMBER_TOKEN_HEADER}: <member token>"`,
  };
}
