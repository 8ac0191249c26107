import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { MeteredUsage, UsageReader } from '../usage-meter';

/** The header that names the member when the caller's own credential goes upstream. */
export const MEMBER_TOKEN_HEADER = 'x-usage-gateway-token';

/** The agents whose model APIs the gateway relays. */
export type ProxyAgent = 'claude' | 'codex' | 'gemini';

/** Why the gateway answers a request itself; each API words it in its own error shape. */
export type ProxyErrorKind =
  | 'authentication' // 401
  | 'invalid_request' // 400
  | 'too_large' // 413
  | 'rate_limit' // 429, retry after
  | 'billing' // 429, an enforced budget reached: not to be retried
  | 'unavailable' // 503, budgets cannot be checked (PROXY_FAIL_CLOSED)
  | 'unreachable' // 502
  | 'timeout' // 504
  | 'internal'; // 500

export const ERROR_STATUS: Record<ProxyErrorKind, number> = {
  authentication: 401,
  invalid_request: 400,
  too_large: 413,
  rate_limit: 429,
  billing: 429,
  unavailable: 503,
  unreachable: 502,
  timeout: 504,
  internal: 500,
};

/** A route of an API the gateway relays. */
export interface ProxyRoute {
  readonly method: 'GET' | 'POST';
  /** A Fastify path. */
  readonly path: string;
  /** Whether a request to `path` is a model call: metered, held against budgets and rates. */
  readonly metered: (path: string) => boolean;
}

/** What the gateway reads of a request (never changing it). */
export interface RequestedCall {
  /** The model asked for (`unknown` when the request names none). */
  readonly model: string;
  /** The most output tokens the request allows, when it says. */
  readonly maxOutputTokens: number | undefined;
}

/**
 * One model API as the gateway relays it (docs/proxy.md): where it goes, how a caller's credential
 * arrives and the gateway's own key is sent, how its answers carry usage, and its error shape.
 */
export interface ProxyProtocol {
  readonly agent: ProxyAgent;
  /** The variable that names the upstream's key (for messages). */
  readonly keyVariable: string;
  readonly upstream: URL;
  /** What of the gateway's path the upstream URL already holds (Codex's `/v1`): taken off. */
  readonly pathPrefix: string;
  /** The gateway's key for the upstream ('' when it holds none). */
  readonly apiKey: string;
  readonly routes: readonly ProxyRoute[];
  /** The headers that carry a caller's credential (dropped when the gateway's key goes instead). */
  readonly credentialHeaders: readonly string[];
  /** The credential a caller sent, where this API's clients send it. */
  credential(headers: IncomingHttpHeaders): string | undefined;
  /** The headers that send the gateway's key upstream. */
  keyHeaders(key: string): OutgoingHttpHeaders;
  /** An error the gateway answers itself, in this API's shape. */
  errorBody(kind: ProxyErrorKind, message: string, retryAfterS?: number): unknown;
  /** How this API's answers carry their usage. */
  readonly usage: UsageReader;
  /** The client's session (conversation) id, when its requests carry one. */
  session(headers: IncomingHttpHeaders): string | null;
  /** The upstream's id of a request (its answer's header). */
  requestId(headers: IncomingHttpHeaders): string | null;
  /** What the request asks for: its model (body or path) and output limit. */
  requested(path: string, body: Buffer | undefined): RequestedCall;
  /** The model an answered call is priced and keyed by: the one its agent's logs name. */
  rowModel(path: string, body: Buffer | undefined, usage: MeteredUsage): string;
  /** How a member names themself to this API's client (a 401's hint). */
  readonly memberHint: string;
}

/** A request body's JSON (read, never changed); `{}` when it is not JSON. Bodies up to the
 * proxy's body limit are parsed whole: the model and limits may be anywhere in them. */
export function bodyJson(body: Buffer | undefined): Record<string, unknown> {
  if (!body) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

export const positive = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;

/** The model asked for, else the one the answer names (Codex's and Gemini CLI's rows). */
export const askedModel = (asked: string, usage: MeteredUsage): string =>
  asked !== 'unknown' ? asked : (usage.model ?? 'unknown');

/**
 * A JSON body's `model` when it is the body's first field (Codex writes it first): read without
 * parsing a body that holds a whole conversation; else the parsed body's.
 */
export function leadingModel(body: Buffer | undefined): string {
  const head = body?.subarray(0, 1024).toString('utf8') ?? '';
  const found = /^\s*\{\s*"model"\s*:\s*("(?:[^"\\]|\\.){1,256}")/.exec(head);
  if (found) return JSON.parse(found[1]) as string;
  const json = bodyJson(body);
  return typeof json.model === 'string' ? json.model : 'unknown';
}

/** A JSON body's `model` and its output limit field (`max_tokens`, `max_output_tokens`). */
export function requestedInBody(body: Buffer | undefined, limitField: string): RequestedCall {
  const json = bodyJson(body);
  return {
    model: typeof json.model === 'string' ? json.model : 'unknown',
    maxOutputTokens: positive(json[limitField]),
  };
}
