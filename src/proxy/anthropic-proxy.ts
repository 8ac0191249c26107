import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import https from 'node:https';
import {
  Authenticator,
  bearerToken,
  CredentialRejectedError,
  firstString,
} from '../auth/authenticator';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { LOCAL_MEMBER } from '../limits/limits.service';
import { LedgerService, type ProxiedRequest } from '../team/ledger/ledger.service';
import { isMemberTokenShaped } from '../team/members/member-token';
import { JsonUsageMeter, type MeteredUsage, SseUsageMeter } from './anthropic-usage';
import { PriceTable } from '../team/ledger/price-table';
import { Counter, Registry } from 'prom-client';
import { type Admission, ProxyBudgets } from './proxy-budgets';
import { MemberRates } from './member-rates';
import { DomainEvents } from '../common/domain-events';
import { BUDGETS_UNCHECKED } from './proxy.events';

/** Proxied requests' ledger rows are written together: at most this late, or this many at once. */
const FLUSH_MS = 20;
const FLUSH_ROWS = 500;

/** The header that names the member when the caller's own credential goes upstream. */
export const MEMBER_TOKEN_HEADER = 'x-usage-gateway-token';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and what the gateway sets itself: never relayed. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

type Route = 'messages' | 'count_tokens' | 'models';

/** An error the gateway answers itself, in the Messages API's own shape (Claude Code shows it). */
function sendError(reply: FastifyReply, status: number, type: string, message: string): void {
  void reply
    .code(status)
    .header('content-type', 'application/json')
    .send({ type: 'error', error: { type, message } });
}

/** Who a request is attributed to, and whose credential goes upstream. */
interface Caller {
  readonly member: string;
  /** The gateway's key replaces the caller's credential headers. */
  readonly gatewayKey: boolean;
}

/**
 * Claude Code's model requests through the gateway (docs/proxy.md): `POST /v1/messages` and
 * `/v1/messages/count_tokens`, `GET /v1/models` and the `HEAD /api/hello` probe, relayed to
 * PROXY_ANTHROPIC_URL as the gateway protocol asks — headers and body unchanged (`anthropic-beta`
 * an open list), answers and errors as they came, a stream passed on event by event (pings too)
 * while its usage is read from `message_start` and `message_delta`; a caller that goes away
 * cancels the upstream request, an upstream silent for PROXY_IDLE_TIMEOUT_MS is cut. Each
 * answered message is one ledger row keyed as its transcript line.
 */
@Injectable()
export class AnthropicProxy implements OnApplicationShutdown {
  private readonly logger = new Logger(AnthropicProxy.name);
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly batch: {
    readonly row: ProxiedRequest;
    readonly resolve: () => void;
    readonly reject: (error: unknown) => void;
  }[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  /** Requests let through unchecked since the budgets last could be checked. */
  private uncheckedEpisode: { from: number; to: number; requests: number } | undefined;
  private readonly prices = PriceTable.load();
  private readonly refused: Counter;
  private readonly unchecked: Counter;

  constructor(
    private readonly config: AppConfig,
    private readonly auth: Authenticator,
    private readonly ledger: LedgerService,
    private readonly budgets: ProxyBudgets,
    private readonly rates: MemberRates,
    private readonly events: DomainEvents,
    registry: Registry,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.refused = new Counter({
      name: 'proxy_budget_refused_total',
      help: 'Model requests refused (429 billing_error) because an enforced budget was reached',
      registers: [registry],
    });
    this.unchecked = new Counter({
      name: 'proxy_budget_unchecked_total',
      help: 'Model requests let through (PROXY_FAIL_CLOSED=false) while enforced budgets could not be checked',
      registers: [registry],
    });
    this.base = new URL(config.proxy.anthropicUrl);
    const options = { keepAlive: true, maxSockets: 256 };
    this.agent =
      this.base.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
  }

  /** The routes, in a scope of their own whose body parser keeps the request's bytes. */
  register(fastify: FastifyInstance): void {
    const bodyLimit = this.config.proxy.bodyLimitBytes;
    void fastify.register(async (scope) => {
      // Errors of this scope (a body too large, one that cannot be read) in the API's own shape.
      scope.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
        const status = error.statusCode ?? 500;
        if (status >= 500)
          this.logger.error(
            `proxy ${request.method} ${request.url.split('?')[0]}: ${error.message}`,
          );
        sendError(
          reply,
          status,
          status === 413
            ? 'request_too_large'
            : status < 500
              ? 'invalid_request_error'
              : 'api_error',
          status === 413
            ? `usage-gateway: the request body is larger than PROXY_BODY_LIMIT_BYTES (${bodyLimit} bytes)`
            : status < 500
              ? `usage-gateway: ${error.message}`
              : 'usage-gateway: internal error',
        );
      });
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) =>
        done(null, body),
      );
      scope.post('/v1/messages', { bodyLimit }, (request, reply) =>
        this.relay('messages', request, reply),
      );
      scope.post('/v1/messages/count_tokens', { bodyLimit }, (request, reply) =>
        this.relay('count_tokens', request, reply),
      );
      scope.get('/v1/models', (request, reply) => this.relay('models', request, reply));
      // Claude Code's connection-warming probe: answered here, nothing goes upstream.
      scope.head('/api/hello', (_request, reply) => reply.code(200).send());
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.pending]);
    this.agent.destroy();
  }

  private async caller(request: FastifyRequest): Promise<Caller | string> {
    const headers = request.headers;
    const named = firstString(headers[MEMBER_TOKEN_HEADER]);
    try {
      if (named !== undefined) {
        const principal = isMemberTokenShaped(named)
          ? await this.auth.authenticate({ token: named })
          : undefined;
        if (!principal?.member) return `${MEMBER_TOKEN_HEADER} must be a member token (ugm_…)`;
        return { member: principal.member.name, gatewayKey: false };
      }
      const sent = credentialOf(headers);
      if (sent !== undefined && isMemberTokenShaped(sent)) {
        const principal = await this.auth.authenticate({ token: sent });
        if (!this.config.proxy.anthropicApiKey)
          return (
            'this gateway holds no Anthropic API key (PROXY_ANTHROPIC_API_KEY): send your own ' +
            `credential and name yourself with ${MEMBER_TOKEN_HEADER}`
          );
        return { member: principal!.member!.name, gatewayKey: true };
      }
    } catch (error) {
      if (error instanceof CredentialRejectedError) return error.detail;
      throw error;
    }
    // Open on loopback: the machine's own usage, with the caller's credential or the gateway's.
    if (!this.auth.required)
      return {
        member: LOCAL_MEMBER,
        gatewayKey: credentialOf(headers) === undefined && !!this.config.proxy.anthropicApiKey,
      };
    return (
      'name the member: ANTHROPIC_AUTH_TOKEN=<member token> (the gateway holds the API key), or ' +
      `your own credential with ANTHROPIC_CUSTOM_HEADERS="${MEMBER_TOKEN_HEADER}: <member token>"`
    );
  }

  private upstreamHeaders(headers: IncomingHttpHeaders, caller: Caller, body: Buffer | undefined) {
    const out: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || name === MEMBER_TOKEN_HEADER) continue;
      // The body arrives decoded (gzip is taken on the way in); the answer is read as it passes.
      if (name === 'content-encoding' || name === 'accept-encoding') continue;
      if (caller.gatewayKey && (name === 'authorization' || name === 'x-api-key')) continue;
      out[name] = value;
    }
    if (caller.gatewayKey) out['x-api-key'] = this.config.proxy.anthropicApiKey;
    out['accept-encoding'] = 'identity';
    if (body) out['content-length'] = body.length;
    return out;
  }

  private async relay(route: Route, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    // Only origin-form targets: the upstream is always PROXY_ANTHROPIC_URL (never an open proxy).
    if (!request.raw.url?.startsWith('/'))
      return sendError(reply, 400, 'invalid_request_error', 'the request target must be a path');
    const caller = await this.caller(request);
    if (typeof caller === 'string') return sendError(reply, 401, 'authentication_error', caller);
    const body = Buffer.isBuffer(request.body) ? request.body : undefined;
    let admission: Admission = { admitted: true, release: async () => undefined };
    if (route === 'messages' && this.rates.enabled) {
      const limited = await this.rates.take(caller.member, () =>
        Math.ceil((body?.length ?? 0) / 4),
      );
      if (limited) {
        void reply
          .header('x-should-retry', 'true')
          .header('retry-after', String(limited.retryAfterS));
        return sendError(reply, 429, 'rate_limit_error', limited.message);
      }
    }
    if (route === 'messages' && body) {
      try {
        admission = await this.budgets.admit(caller.member, () => this.estimate(body));
        if (this.uncheckedEpisode) {
          // Checked again: the episode is told (an alert), once.
          this.events.emit(BUDGETS_UNCHECKED, this.uncheckedEpisode);
          this.uncheckedEpisode = undefined;
        }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (this.config.proxy.failClosed) {
          this.logger.error(`enforced budgets cannot be checked, request refused: ${reason}`);
          void reply.header('x-should-retry', 'true').header('retry-after', '5');
          return sendError(
            reply,
            503,
            'api_error',
            'usage-gateway: budgets cannot be checked right now (the database is unreachable); try again shortly',
          );
        }
        this.unchecked.inc();
        const at = this.now();
        this.uncheckedEpisode ??= { from: at, to: at, requests: 0 };
        this.uncheckedEpisode.to = at;
        this.uncheckedEpisode.requests++;
        this.logger.warn(`enforced budgets cannot be checked, request let through: ${reason}`);
      }
      if (!admission.admitted) {
        this.refused.inc();
        const seconds = Math.max(1, Math.ceil((admission.refusal.resetsAt - this.now()) / 1000));
        void reply.header('x-should-retry', 'false').header('retry-after', String(seconds));
        return sendError(reply, 429, 'billing_error', admission.refusal.message);
      }
    }
    const release = admission.admitted ? admission.release : async () => undefined;
    const started = this.now();
    const prefix = this.base.pathname.replace(/\/+$/, '');
    const target = new URL(`${prefix}${request.raw.url}`, this.base);
    const transport = target.protocol === 'https:' ? https : http;
    const upstream = transport.request(target, {
      method: request.method,
      headers: this.upstreamHeaders(request.headers, caller, body),
      agent: this.agent,
      timeout: this.config.proxy.idleTimeoutMs,
    });
    reply.hijack();
    const raw = reply.raw;
    let answer: IncomingMessage | undefined;
    let meter: SseUsageMeter | JsonUsageMeter | undefined;
    let settled = false;
    const finish = (ended: boolean) => {
      if (settled) return;
      settled = true;
      const usage =
        route !== 'messages' || !answer || answer.statusCode !== 200 || !meter
          ? undefined
          : meter instanceof SseUsageMeter
            ? meter.result()
            : meter.result(ended);
      // What the request held against budgets goes once its real usage is in the ledger.
      const done = (
        usage ? this.record(caller, request, answer!, usage, started) : Promise.resolve()
      )
        .finally(release)
        .catch((error: unknown) =>
          this.logger.error(
            `a proxied request's usage or budget hold could not be stored: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      this.pending.add(done);
      void done.finally(() => this.pending.delete(done));
    };
    // The caller went away before the answer ended: the upstream request is cancelled.
    raw.on('close', () => {
      if (raw.writableFinished) return;
      upstream.destroy();
      finish(false);
    });
    let silent = false;
    upstream.on('timeout', () => {
      silent = true;
      upstream.destroy(
        new Error(`the upstream was silent for ${this.config.proxy.idleTimeoutMs} ms`),
      );
    });
    upstream.on('error', (error) => {
      if (settled) return;
      if (!raw.headersSent) {
        raw.writeHead(silent ? 504 : 502, { 'content-type': 'application/json' });
        raw.end(
          JSON.stringify({
            type: 'error',
            error: {
              type: 'api_error',
              message: silent
                ? `usage-gateway: ${error.message}`
                : `usage-gateway: the upstream could not be reached (${error.message})`,
            },
          }),
        );
      } else raw.destroy();
      finish(false);
    });
    upstream.on('response', (res) => {
      answer = res;
      const headers: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(res.headers))
        if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
      if (res.headers['content-length'] !== undefined)
        headers['content-length'] = res.headers['content-length'];
      raw.writeHead(res.statusCode ?? 502, headers);
      // SSE is written out as it comes: no buffering anywhere (Nagle off, every chunk flushed).
      raw.socket?.setNoDelay(true);
      if (route === 'messages' && res.statusCode === 200)
        meter = /text\/event-stream/i.test(String(res.headers['content-type']))
          ? new SseUsageMeter()
          : new JsonUsageMeter();
      res.on('data', (chunk: Buffer) => {
        meter?.feed(chunk);
        if (!raw.write(chunk)) {
          res.pause();
          raw.once('drain', () => res.resume());
        }
      });
      res.on('end', () => {
        raw.end();
        finish(true);
      });
      res.on('aborted', () => {
        raw.destroy();
        finish(false);
      });
    });
    upstream.end(body);
  }

  /**
   * Queues a proxied request's row for the ledger: rows go in batches (every FLUSH_MS, or at
   * FLUSH_ROWS), one transaction for many requests instead of one each.
   */
  private record(
    caller: Caller,
    request: FastifyRequest,
    answer: IncomingMessage,
    usage: MeteredUsage,
    started: number,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.batch.push({
        row: {
          member: caller.member,
          requestId: firstString(answer.headers['request-id']) ?? null,
          gatewayRequestId: String(request.id),
          usage,
          requestedModel: usage.model ? usage.model : requestedModel(request.body),
          session: firstString(request.headers['x-claude-code-session-id']) ?? null,
          ts: started,
        },
        resolve,
        reject,
      });
      if (this.batch.length >= FLUSH_ROWS) this.flush();
      else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
    });
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.batch.splice(0);
    if (batch.length === 0) return;
    this.ledger
      .proxied(
        batch.map((item) => item.row),
        this.now(),
      )
      .then(
        () => batch.forEach((item) => item.resolve()),
        (error: unknown) => batch.forEach((item) => item.reject(error)),
      );
  }

  /**
   * What a request may cost at most, held against enforced budgets while it runs: its input from
   * the body's size (4 bytes a token), its output from `max_tokens`, at the model's prices.
   */
  private estimate(body: Buffer): number {
    let parsed: { model?: unknown; max_tokens?: unknown } = {};
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      // Not JSON: the upstream will refuse it; it holds nothing.
    }
    const model = typeof parsed.model === 'string' ? parsed.model : 'unknown';
    const output =
      typeof parsed.max_tokens === 'number' && parsed.max_tokens > 0 ? parsed.max_tokens : 0;
    return this.prices.cost(model, [Math.ceil(body.length / 4), output, 0, 0]);
  }
}

/** The credential a caller sent: a bearer token, else an `x-api-key`. */
function credentialOf(headers: IncomingHttpHeaders): string | undefined {
  return bearerToken(headers.authorization) ?? firstString(headers['x-api-key']);
}

/** The `model` of a request body (read, never changed), else `unknown`. */
function requestedModel(body: unknown): string {
  if (!Buffer.isBuffer(body) || body.length > 64 * 1024 * 1024) return 'unknown';
  // The model is near the start of Claude Code's bodies; the whole body is parsed otherwise.
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { model?: unknown };
    return typeof parsed.model === 'string' ? parsed.model : 'unknown';
  } catch {
    return 'unknown';
  }
}
