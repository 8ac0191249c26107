import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ForbiddenError } from '../../common/app-error';
import type { Principal } from '../../auth/authenticator';
import { CLOCK, type Clock } from '../../common/clock';
import { LOCAL_MEMBER } from '../../limits/limits.service';
import type { PushEntries } from '../dto/push-entries.check';
import type { PushResultDto } from '../dto/usage-entries.dto';
import type { OtlpApiRequest } from './otlp-api-request';
import { type LedgerInput, type LedgerResult, LedgerStore } from './ledger.store';
import { AgentPrices } from './agent-prices';
import { PriceTable } from './price-table';
import type { MeteredUsage } from '../../proxy/usage-meter';
import type { ProxyAgent } from '../../proxy/protocols/protocol';
import { codexEventKey } from '../otlp/otlp-decode';

/** A model request the proxy relayed (docs/proxy.md), with what its answer said it used. */
export interface ProxiedRequest {
  readonly agent: ProxyAgent;
  readonly member: string;
  /** The upstream's request id (Anthropic's `request-id`: Claude Code writes the same as
   * `requestId`; OpenAI's `x-request-id`). */
  readonly requestId: string | null;
  /** The gateway's own id of the request, when the upstream named none. */
  readonly gatewayRequestId: string;
  readonly usage: MeteredUsage;
  /** The model the call is priced and keyed by (the protocol's `rowModel`). */
  readonly model: string;
  /** The client's session: Claude Code's `x-claude-code-session-id`, Codex's `session_id`. */
  readonly session: string | null;
  readonly ts: number;
}

/** A model as reports name it: fast mode is its own row, `<model>-fast` (ccusage's name). */
export const reportedModel = (model: string, fast: boolean): string =>
  fast && model !== 'unknown' ? `${model}-fast` : model;

/**
 * The ways into the ledger (docs/design.md §9): pushed log lines here, OTLP requests from the
 * receiver. Whose usage it is comes from the credential — a member token writes as its member
 * and cannot claim another.
 */
@Injectable()
export class LedgerService implements OnModuleInit {
  private prices!: PriceTable;
  private agentPrices!: AgentPrices;

  constructor(
    private readonly store: LedgerStore,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  onModuleInit(): void {
    this.prices = PriceTable.load();
    this.agentPrices = AgentPrices.load();
  }

  /** The member a write is attributed to: the caller's own, an admin's choice, or `local`. */
  static writer(caller: Principal | undefined, claimed: string | undefined): string {
    if (caller?.role === 'member') {
      const own = caller.member?.name;
      if (!own || (claimed !== undefined && claimed !== own))
        throw new ForbiddenError(
          `a member token writes as its own member (${own ?? 'none'}), not as ${claimed}`,
        );
      return own;
    }
    return claimed ?? caller?.member?.name ?? LOCAL_MEMBER;
  }

  /**
   * Pushed log lines (`source` local: the gateway's own machine, read by the local feed). Keys
   * and rules are the same for both.
   */
  async push(
    caller: Principal | undefined,
    body: PushEntries,
    source: 'push' | 'local' = 'push',
  ): Promise<PushResultDto> {
    const member = LedgerService.writer(caller, body.member);
    const now = this.now();
    const inputs = body.entries.map((entry): LedgerInput => {
      const fast = entry.speed === 'fast';
      const model = entry.model || 'unknown';
      const counts = [
        entry.input_tokens,
        entry.output_tokens,
        entry.cache_creation_tokens,
        entry.cache_read_tokens,
      ] as const;
      const agent = entry.agent ?? 'claude';
      const place = (offset: number | undefined) =>
        `l\u0000${member}\u0000${body.machine}\u0000${entry.file}\u0000${offset}`;
      // ccusage 20's keys: message id + request id, or the message id alone; else the line's
      // place. Earlier rules keyed a line without both ids by its place: those rows are its too.
      // Another agent's event: its own key (docs/agents.md), in its agent's space.
      const key =
        agent !== 'claude'
          ? `a\u0000${agent}\u0000${entry.event_key}`
          : entry.message_id
            ? entry.request_id
              ? `m\u0000${entry.message_id}\u0000${entry.request_id}`
              : `i\u0000${entry.message_id}`
            : place(entry.offset);
      const legacyKeys =
        entry.message_id && !entry.request_id && entry.file !== undefined
          ? [entry.offset, ...(entry.earlier_offsets ?? [])].map(place)
          : [];
      return {
        key,
        legacyKeys: agent === 'claude' ? legacyKeys : [],
        messageId: agent === 'claude' ? (entry.message_id ?? null) : null,
        sidechain: entry.sidechain === true,
        requestId: agent === 'claude' ? (entry.request_id ?? null) : null,
        source,
        agent,
        member,
        machine: body.machine,
        project: entry.project,
        sessionId: entry.session_id,
        projectPath: entry.project_path,
        claudeSession: entry.claude_session ?? null,
        model: reportedModel(model, fast),
        ts: entry.ts,
        inputTokens: counts[0],
        outputTokens: counts[1],
        cacheCreationTokens: counts[2],
        cacheReadTokens: counts[3],
        reasoningTokens: entry.reasoning_tokens ?? 0,
        extraTokens: entry.extra_tokens ?? 0,
        costUsd:
          entry.cost_usd ?? this.prices.cost(model, counts, fast, entry.cache_creation_1h_tokens),
        reportedCostUsd: null,
        attributes: null,
      };
    });
    const result = await this.store.ingest(inputs, now);
    return { received: inputs.length, ...result };
  }

  /**
   * Requests the proxy relayed, each keyed as the same call's row from the agent's logs and
   * telemetry where its requests carry what that key needs, so the ways in count it once:
   * Claude Code's by message id + request id (its transcript line's, joined to its OTLP event by
   * the request id), Codex's by conversation (`session_id`), model and figures (its rollout's and
   * `response.completed` event's). Gemini CLI's requests name no session: its rows are keyed by
   * the response's id (docs/proxy.md). A cut answer is recorded with what was seen, marked
   * `proxy_incomplete`.
   */
  proxied(requests: readonly ProxiedRequest[], now: number): Promise<LedgerResult> {
    return this.store.ingest(
      requests.map((request) => this.proxiedInput(request)),
      now,
    );
  }

  private proxiedInput(request: ProxiedRequest): LedgerInput {
    const { usage, agent } = request;
    const claude = agent === 'claude';
    const { model } = request;
    const counts = [
      usage.inputTokens,
      usage.outputTokens,
      usage.cacheCreationTokens,
      usage.cacheReadTokens,
    ] as const;
    const own = `p\u0000${request.requestId ?? usage.messageId ?? request.gatewayRequestId}`;
    const key = claude
      ? usage.messageId && request.requestId
        ? `m\u0000${usage.messageId}\u0000${request.requestId}`
        : usage.messageId
          ? `i\u0000${usage.messageId}`
          : own
      : agent === 'codex' && request.session && usage.complete
        ? `a\u0000codex\u0000${codexEventKey(
            request.session,
            model,
            usage.inputTokens + usage.cacheReadTokens,
            usage.cacheReadTokens,
            usage.outputTokens,
            usage.reasoningTokens,
          )}`
        : `a\u0000${agent}\u0000${own}`;
    return {
      key,
      legacyKeys: [],
      messageId: claude ? usage.messageId : null,
      sidechain: false,
      requestId: claude ? request.requestId : null,
      source: 'proxy',
      agent,
      member: request.member,
      machine: 'proxy',
      project: claude ? 'unknown' : agent,
      sessionId: request.session ?? 'unknown',
      projectPath: claude ? 'Unknown Project' : agent,
      claudeSession: claude ? request.session : null,
      model: reportedModel(model, usage.fast),
      ts: request.ts,
      inputTokens: counts[0],
      outputTokens: counts[1],
      cacheCreationTokens: counts[2],
      cacheReadTokens: counts[3],
      reasoningTokens: usage.reasoningTokens,
      extraTokens: usage.extraTokens,
      costUsd: claude
        ? this.prices.cost(model, counts, usage.fast, usage.cacheCreation1hTokens)
        : this.agentPrices.cost(agent, model, [
            counts[0],
            counts[1] + usage.extraTokens,
            counts[2],
            counts[3],
          ]).usd,
      reportedCostUsd: null,
      attributes: usage.complete ? null : { proxy_incomplete: 'true' },
    };
  }

  /**
   * Model calls an agent's OpenTelemetry export reported (OTLP): a row each, keyed as decoded,
   * priced by our tables — Claude Code's `api_request` (its own `cost_usd` kept beside; the
   * project is not known, `unknown`; the session is Claude Code's), Codex's `response.completed`
   * and Gemini CLI's `api_response` (their agent's prices; project and project path their agent's
   * name, the session theirs).
   */
  otlp(member: string, requests: readonly OtlpApiRequest[], now: number) {
    const inputs = requests.map((request): LedgerInput => {
      const claude = request.agent === 'claude';
      const [input, output, cacheCreate, cacheRead] = request.counts;
      return {
        key: request.key,
        legacyKeys: [],
        messageId: null,
        sidechain: false,
        requestId: claude ? request.requestId : null,
        source: 'otlp',
        agent: request.agent,
        member,
        machine: request.machine,
        project: claude ? 'unknown' : request.agent,
        sessionId: request.session ?? 'unknown',
        projectPath: claude ? 'Unknown Project' : request.agent,
        claudeSession: claude ? request.session : null,
        model: reportedModel(request.model, request.fast),
        ts: request.ts,
        inputTokens: input,
        outputTokens: output,
        cacheCreationTokens: cacheCreate,
        cacheReadTokens: cacheRead,
        reasoningTokens: request.reasoning,
        extraTokens: request.extra,
        costUsd: claude
          ? this.prices.cost(request.model, request.counts, request.fast)
          : this.agentPrices.cost(request.agent, request.model, [
              input,
              output + request.extra,
              cacheCreate,
              cacheRead,
            ]).usd,
        reportedCostUsd: request.reportedCostUsd,
        attributes: request.attributes,
      };
    });
    return this.store.ingest(inputs, now);
  }
}
