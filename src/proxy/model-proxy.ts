import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import https from 'node:https';
import { Authenticator, CredentialRejectedError, firstString } from '../auth/authenticator';
import { CLOCK, type Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { LOCAL_MEMBER } from '../limits/limits.service';
import { LedgerService, type ProxiedRequest } from '../team/ledger/ledger.service';
import { isMemberTokenShaped } from '../team/members/member-token';
import { meterFor, type MeteredUsage, type UsageMeter } from './usage-meter';
import { PriceTable } from '../team/ledger/price-table';
import { AgentPrices } from '../team/ledger/agent-prices';
import {
  ERROR_STATUS,
  MEMBER_TOKEN_HEADER,
  type ProxyErrorKind,
  type ProxyProtocol,
} from './protocols/protocol';
import { anthropicProtocol } from './protocols/anthropic';
import { openaiProtocol } from './protocols/openai';
import { geminiProtocol } from './protocols/gemini';
import { Counter, Registry } from 'prom-client';
import { type Admission, ProxyBudgets } from './proxy-budgets';
import { MemberRates } from './member-rates';
import { DomainEvents } from '../common/domain-events';
import { BUDGETS_UNCHECKED } from './proxy.events';

/**
 * Proxied requests' ledger rows are written together: at most this late, or this many at once
 * (every SQLite commit holds the event loop; 100 ms halved the relay's added total time against
 * 20 ms in bench:proxy, 2026-12-08).
 */
const FLUSH_MS = 100;
const FLUSH_ROWS = 500;

/** The output a request that sets no limit is held for against budgets (Codex sets none). */
export const DEFAULT_OUTPUT_ESTIMATE = 16_384;

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

/** An error the gateway answers itself, in the API's own shape (its client shows it). */
function sendError(
  reply: FastifyReply,
  protocol: ProxyProtocol,
  kind: ProxyErrorKind,
  message: string,
  retryAfterS?: number,
): void {
  void reply
    .code(ERROR_STATUS[kind])
    .header('content-type', 'application/json')
    .send(protocol.errorBody(kind, message, retryAfterS));
}

/** Who a request is attributed to, and whose credential goes upstream. */
interface Caller {
  readonly member: string;
  /** The gateway's key replaces the caller's credential headers. */
  readonly gatewayKey: boolean;
}

/**
 * The agents' model requests through the gateway (docs/proxy.md): Claude Code's Messages API,
 * Codex's Responses API and Gemini CLI's generateContent, each relayed to its upstream as its
 * client expects a gateway to — headers and body unchanged (`anthropic-beta` an open list),
 * answers and errors as they came, a stream passed on chunk by chunk while its usage is read
 * (protocols/*.ts say where each API carries it); a caller that goes away cancels the upstream
 * request, an upstream silent for PROXY_IDLE_TIMEOUT_MS is cut. Each answered model call is one
 * ledger row, held against enforced budgets and the member's rates before it goes.
 */
@Injectable()
export class ModelProxy implements OnApplicationShutdown {
  private readonly logger = new Logger(ModelProxy.name);
  private readonly protocols: readonly ProxyProtocol[];
  private readonly agents = new Map<ProxyProtocol, http.Agent>();
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
  private readonly agentPrices = AgentPrices.load();
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
      help: 'Model requests refused (429) because an enforced budget was reached',
      registers: [registry],
    });
    this.unchecked = new Counter({
      name: 'proxy_budget_unchecked_total',
      help: 'Model requests let through (PROXY_FAIL_CLOSED=false) while enforced budgets could not be checked',
      registers: [registry],
    });
    const proxy = config.proxy;
    this.protocols = [
      anthropicProtocol(proxy.anthropicUrl, proxy.anthropicApiKey),
      openaiProtocol(proxy.openaiUrl, proxy.openaiApiKey),
      geminiProtocol(proxy.geminiUrl, proxy.geminiApiKey),
    ];
    const options = { keepAlive: true, maxSockets: 256 };
    for (const protocol of this.protocols)
      this.agents.set(
        protocol,
        protocol.upstream.protocol === 'https:'
          ? new https.Agent(options)
          : new http.Agent(options),
      );
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
        const protocol =
          (request.routeOptions.config as { protocol?: ProxyProtocol } | undefined)?.protocol ??
          this.protocols[0];
        sendError(
          reply,
          protocol,
          status === 413 ? 'too_large' : status < 500 ? 'invalid_request' : 'internal',
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
      for (const protocol of this.protocols)
        for (const route of protocol.routes)
          scope.route({
            method: route.method,
            url: route.path,
            bodyLimit,
            config: { protocol },
            handler: (request, reply) =>
              this.relay(protocol, route.metered(request.url.split('?')[0]), request, reply),
          });
      // Claude Code's connection-warming probe: answered here, nothing goes upstream.
      scope.head('/api/hello', (_request, reply) => reply.code(200).send());
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.pending]);
    for (const agent of this.agents.values()) agent.destroy();
  }

  private async caller(protocol: ProxyProtocol, request: FastifyRequest): Promise<Caller | string> {
    const headers = request.headers;
    const named = firstString(headers[MEMBER_TOKEN_HEADER]);
    const sent = protocol.credential(headers);
    try {
      if (named !== undefined) {
        const principal = isMemberTokenShaped(named)
          ? await this.auth.authenticate({ token: named })
          : undefined;
        if (!principal?.member) return `${MEMBER_TOKEN_HEADER} must be a member token (ugm_…)`;
        return { member: principal.member.name, gatewayKey: false };
      }
      if (sent !== undefined && isMemberTokenShaped(sent)) {
        const principal = await this.auth.authenticate({ token: sent });
        if (!protocol.apiKey)
          return (
            `this gateway holds no API key for this upstream (${protocol.keyVariable}): send your own ` +
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
      return { member: LOCAL_MEMBER, gatewayKey: sent === undefined && !!protocol.apiKey };
    return protocol.memberHint;
  }

  private upstreamHeaders(
    protocol: ProxyProtocol,
    headers: IncomingHttpHeaders,
    caller: Caller,
    body: Buffer | undefined,
  ) {
    const out: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || HOP_BY_HOP.has(name) || name === MEMBER_TOKEN_HEADER) continue;
      // The body arrives decoded (gzip is taken on the way in); the answer is read as it passes.
      if (name === 'content-encoding' || name === 'accept-encoding') continue;
      if (caller.gatewayKey && protocol.credentialHeaders.includes(name)) continue;
      out[name] = value;
    }
    if (caller.gatewayKey) Object.assign(out, protocol.keyHeaders(protocol.apiKey));
    out['accept-encoding'] = 'identity';
    if (body) out['content-length'] = body.length;
    return out;
  }

  private async relay(
    protocol: ProxyProtocol,
    metered: boolean,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    // Only origin-form targets: the upstream is always the configured one (never an open proxy).
    if (!request.raw.url?.startsWith('/'))
      return sendError(reply, protocol, 'invalid_request', 'the request target must be a path');
    const caller = await this.caller(protocol, request);
    if (typeof caller === 'string') return sendError(reply, protocol, 'authentication', caller);
    const body = Buffer.isBuffer(request.body) ? request.body : undefined;
    let admission: Admission = { admitted: true, release: async () => undefined };
    if (metered && this.rates.enabled) {
      const limited = await this.rates.take(caller.member, () =>
        Math.ceil((body?.length ?? 0) / 4),
      );
      if (limited) {
        void reply
          .header('x-should-retry', 'true')
          .header('retry-after', String(limited.retryAfterS));
        return sendError(reply, protocol, 'rate_limit', limited.message, limited.retryAfterS);
      }
    }
    if (metered && body) {
      try {
        admission = await this.budgets.admit(caller.member, () =>
          this.estimate(protocol, request.url, body),
        );
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
            protocol,
            'unavailable',
            'usage-gateway: budgets cannot be checked right now (the database is unreachable); try again shortly',
            5,
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
        return sendError(reply, protocol, 'billing', admission.refusal.message);
      }
    }
    const release = admission.admitted ? admission.release : async () => undefined;
    const started = this.now();
    const base = protocol.upstream;
    const path = request.raw.url.startsWith(`${protocol.pathPrefix}/`)
      ? request.raw.url.slice(protocol.pathPrefix.length)
      : request.raw.url;
    // The upstream's own URL with the path and query set: nothing in the request names the host.
    const target = new URL(base.href);
    const query = path.indexOf('?');
    target.pathname = `${base.pathname.replace(/\/+$/, '')}${query < 0 ? path : path.slice(0, query)}`;
    target.search = query < 0 ? '' : path.slice(query);
    const transport = target.protocol === 'https:' ? https : http;
    const upstream = transport.request(target, {
      method: request.method,
      headers: this.upstreamHeaders(protocol, request.headers, caller, body),
      agent: this.agents.get(protocol),
      timeout: this.config.proxy.idleTimeoutMs,
    });
    reply.hijack();
    const raw = reply.raw;
    let answer: IncomingMessage | undefined;
    let meter: UsageMeter | undefined;
    let settled = false;
    const finish = (ended: boolean) => {
      if (settled) return;
      settled = true;
      const usage = answer?.statusCode === 200 ? meter?.result(ended) : undefined;
      // What the request held against budgets goes once its real usage is in the ledger.
      const done = (
        usage ? this.record(protocol, caller, request, answer!, usage, started) : Promise.resolve()
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
        const kind = silent ? 'timeout' : 'unreachable';
        raw.writeHead(ERROR_STATUS[kind], { 'content-type': 'application/json' });
        raw.end(
          JSON.stringify(
            protocol.errorBody(
              kind,
              silent
                ? `usage-gateway: ${error.message}`
                : `usage-gateway: the upstream could not be reached (${error.message})`,
            ),
          ),
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
      if (metered && res.statusCode === 200)
        meter = meterFor(res.headers['content-type'], protocol.usage);
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
    protocol: ProxyProtocol,
    caller: Caller,
    request: FastifyRequest,
    answer: IncomingMessage,
    usage: MeteredUsage,
    started: number,
  ): Promise<void> {
    const body = Buffer.isBuffer(request.body) ? request.body : undefined;
    return new Promise<void>((resolve, reject) => {
      this.batch.push({
        row: {
          agent: protocol.agent,
          member: caller.member,
          requestId: protocol.requestId(answer.headers),
          gatewayRequestId: String(request.id),
          usage,
          model: protocol.rowModel(request.url, body, usage),
          session: protocol.session(request.headers),
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
   * the body's size (4 bytes a token), its output from its limit (`max_tokens`,
   * `max_output_tokens`, `maxOutputTokens`; DEFAULT_OUTPUT_ESTIMATE when it sets none), at the
   * model's prices.
   */
  private estimate(protocol: ProxyProtocol, path: string, body: Buffer): number {
    const { model, maxOutputTokens } = protocol.requested(path, body);
    const counts = [
      Math.ceil(body.length / 4),
      maxOutputTokens ?? DEFAULT_OUTPUT_ESTIMATE,
      0,
      0,
    ] as const;
    return protocol.agent === 'claude'
      ? this.prices.cost(model, counts)
      : this.agentPrices.cost(protocol.agent, model, [...counts]).usd;
  }
}
