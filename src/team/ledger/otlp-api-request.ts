import type { Agent } from '../../usage/agents';

/**
 * One model call an agent's OpenTelemetry export reported, as the OTLP receiver decoded it, for the
 * ledger (a row each, keyed by `key`): Claude Code's `api_request` (its request id, else client
 * request id, else session + sequence), Codex's `codex.sse_event` of kind `response.completed` and
 * Gemini CLI's `gemini_cli.api_response` (their session and figures: the key their pushed logs'
 * events have too, so an event known both ways counts once).
 */
export interface OtlpApiRequest {
  readonly agent: Agent;
  readonly key: string;
  readonly requestId: string | null;
  readonly session: string | null;
  readonly machine: string;
  readonly model: string;
  readonly fast: boolean;
  readonly ts: number;
  /** Input not read from a cache, output, cache writes, cache reads. */
  readonly counts: readonly [number, number, number, number];
  /** Reasoning the agent reported; tokens in the total that no count shows (priced as output). */
  readonly reasoning: number;
  readonly extra: number;
  readonly reportedCostUsd: number | null;
  readonly attributes: Record<string, string> | null;
}
