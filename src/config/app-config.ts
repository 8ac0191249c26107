import type { BRIDGE_MODES, LOG_LEVELS } from './env.schema';

export type BridgeMode = (typeof BRIDGE_MODES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  readonly allowInsecure: boolean;
  readonly corsOrigins: readonly string[];
  /** ALLOWED_HOSTS: `Host` names served besides the defaults (see HostAllowList). */
  readonly allowedHosts: readonly string[];
  /** Largest accepted request body (docs/design.md §4: hook events are at most 1 MB). */
  readonly bodyLimitBytes: number;
}

export type DatabaseConfig = (
  | { readonly type: 'sqlite'; readonly path: string }
  | { readonly type: 'postgres'; readonly url: string }
) & {
  readonly migrationsRun: boolean;
  /** Every query's deadline (DB_QUERY_TIMEOUT_MS). */
  readonly queryTimeoutMs: number;
};

export interface AlertsConfig {
  /** Where alerts are POSTed (none: stored and sent to dashboards only). */
  readonly webhookUrls: readonly string[];
  readonly limitLeadMin: number;
  readonly checkIntervalMs: number;
  /** Webhook deliveries are retried until the alert is this old. */
  readonly deliveryMaxAgeMs: number;
}

export interface TeamConfig {
  /** How often this machine's logs go into the ledger (0: never). */
  readonly localLedgerIntervalMs: number;
  /** The OTLP/gRPC receiver's port (undefined: off). */
  readonly otlpGrpcPort: number | undefined;
}

/** The model-request proxy (docs/proxy.md). */
export interface ProxyConfig {
  readonly anthropicUrl: string;
  /** The organisation's key (members then send member tokens); undefined: pass-through. */
  readonly anthropicApiKey: string | undefined;
  /** Codex's Responses API (the base URL, `/v1` included). */
  readonly openaiUrl: string;
  readonly openaiApiKey: string | undefined;
  /** Gemini CLI's API. */
  readonly geminiUrl: string;
  readonly geminiApiKey: string | undefined;
  readonly idleTimeoutMs: number;
  readonly bodyLimitBytes: number;
  /** Refuse requests when enforced budgets cannot be checked (the database away). */
  readonly failClosed: boolean;
  /** Per member and minute (0: no limit). */
  readonly memberRpm: number;
  readonly memberInputTpm: number;
}

export interface RedisConfig {
  readonly url: string | undefined;
}

export interface BridgeConfig {
  readonly enabled: boolean;
  readonly mode: BridgeMode;
  readonly url: string;
  readonly fallbackUrl: string | undefined;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly python: string;
  readonly script: string;
  readonly stateDir: string;
  readonly port: number;
  readonly autoRestart: boolean;
  readonly maxRestarts: number;
  readonly restartDelayMs: number;
  /** After `failed`, try again this much later (0: stay failed). */
  readonly failedRetryMs: number;
  /** The longest restart delay. */
  readonly maxBackoffMs: number;
  /** Healthy this long: the restart count starts over. */
  readonly stableAfterMs: number;
  /** While ready, /health is checked this often (and with this deadline). */
  readonly watchIntervalMs: number;
  /** Checks in a row without an answer before the bridge counts as hung. */
  readonly hungAfterChecks: number;
  readonly healthIntervalMs: number;
  readonly healthMaxRetries: number;
  readonly healthTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly healthCacheMs: number;
  readonly preflightImports: readonly string[];
  readonly required: boolean;
  readonly pricingFile: string | undefined;
  readonly claudeConfigDir: string | undefined;
  /** The environment the bridge child process gets: system basics only, never gateway secrets. */
  readonly childEnv: Readonly<Record<string, string>>;
}

export interface UsageConfigSettings {
  readonly cacheTtlMs: number;
  readonly snapshotRetentionDays: number;
  /** A usage read answers by then, from the best fallback if the bridge has not answered. */
  readonly readDeadlineMs: number;
}

export interface EventsConfig {
  /** Hook and domain events older than this many days are pruned; 0 keeps them. */
  readonly retentionDays: number;
}

/** REST limits per credential (else per IP), per minute; shared through Redis when set. */
export interface RateLimitConfig {
  readonly readsPerMin: number;
  readonly writesPerMin: number;
}

export interface DocsConfig {
  readonly enabled: boolean;
}

export interface AuthConfig {
  /** HS256 secrets; every one verifies (rotation). Empty: no bearer tokens. */
  readonly jwtSecrets: readonly string[];
  readonly jwtIssuer: string | undefined;
  readonly jwtAudience: string | undefined;
  readonly apiKeys: readonly string[];
  /** Bearer token for `/metrics`; unset leaves it open. */
  readonly metricsToken: string | undefined;
}

export interface RealtimeConfig {
  readonly metricsIntervalMs: number;
  readonly maxConnections: number;
  readonly maxBufferBytes: number;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly rateLimitPerSec: number;
}

export interface GithubConfig {
  readonly webhookSecret: string | undefined;
}

export interface LogConfig {
  readonly level: LogLevel;
  /** `pretty` for a person at a terminal, `json` for a collector. */
  readonly format: 'pretty' | 'json';
  /** Colours in the pretty format (off with NO_COLOR). */
  readonly colour: boolean;
}

/**
 * The validated, typed configuration. It is both the type and the injection token, so a service
 * asks for it with `constructor(private readonly config: AppConfig)`.
 */
export abstract class AppConfig {
  declare readonly server: ServerConfig;
  declare readonly database: DatabaseConfig;
  declare readonly redis: RedisConfig;
  declare readonly bridge: BridgeConfig;
  declare readonly usage: UsageConfigSettings;
  declare readonly events: EventsConfig;
  declare readonly alerts: AlertsConfig;
  declare readonly team: TeamConfig;
  declare readonly proxy: ProxyConfig;
  declare readonly rateLimit: RateLimitConfig;
  declare readonly auth: AuthConfig;
  declare readonly docs: DocsConfig;
  declare readonly realtime: RealtimeConfig;
  declare readonly github: GithubConfig;
  declare readonly log: LogConfig;
}
