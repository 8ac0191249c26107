/**
 * The coding agents whose local usage the bridge reads (docs/agents.md), and a report's `agent`
 * filter: one of them, or `all` (the default, as `ccusage daily`).
 */
export const AGENTS = ['claude', 'codex', 'gemini', 'opencode', 'amp'] as const;
export type Agent = (typeof AGENTS)[number];
export const AGENT_FILTERS = [...AGENTS, 'all'] as const;
export type AgentFilter = (typeof AGENT_FILTERS)[number];
