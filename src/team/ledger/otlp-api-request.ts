/**
 * One Claude Code `api_request` event as the OTLP receiver decoded it, for the ledger (a row each,
 * keyed by `key`: its request id, else client request id, else session + sequence).
 */
export interface OtlpApiRequest {
  readonly key: string;
  readonly requestId: string | null;
  readonly session: string | null;
  readonly machine: string;
  readonly model: string;
  readonly fast: boolean;
  readonly ts: number;
  readonly counts: readonly [number, number, number, number];
  readonly reportedCostUsd: number | null;
  readonly attributes: Record<string, string> | null;
}
