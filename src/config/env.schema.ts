import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import {
  IsHostList,
  IsOriginList,
  IsSecretList,
  IsUrlList,
  IsUrlOf,
  NeedsCredentialOffLoopback,
  NotShorterThan,
} from './env.validators';

/**
 * Environment variables are strings; these transforms turn the well-formed ones into numbers and
 * booleans and leave anything else untouched, so the validators below can name the bad value
 * instead of silently coercing it (`Number('abc')` or `Boolean('false')` would lie).
 */
function toInt({ value }: { value: unknown }): unknown {
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number(value.trim());
  return value;
}

function toBool({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
}

/** Blank strings mean "unset", as in a `.env` line such as `REDIS_URL=`. */
function blankToUndefined({ value }: { value: unknown }): unknown {
  return typeof value === 'string' && value.trim() === '' ? undefined : value;
}

const Int = () => Transform(toInt);
/** An integer variable from `min` to `max` (both inclusive). */
const IntIn = (min: number, max: number) => applyDecorators(Int(), IsInt(), Min(min), Max(max));
const Bool = () => Transform(toBool);
const Optional = () => Transform(blankToUndefined);

export const BRIDGE_MODES = ['spawn', 'external', 'off'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['pretty', 'json'] as const;

/** docs/design.md §3, one field per variable, with the documented defaults. */
export class EnvSchema {
  @IntIn(0, 65535)
  PORT: number = 3000;

  @IsString()
  @MinLength(1)
  @NeedsCredentialOffLoopback()
  HOST: string = '127.0.0.1';

  @Bool()
  @IsBoolean()
  ALLOW_INSECURE: boolean = false;

  @Optional()
  @IsOptional()
  @IsString()
  @IsUrlOf('postgres:', 'postgresql:')
  DATABASE_URL?: string;

  @IsString()
  @MinLength(1)
  DB_SQLITE_PATH: string = './data/usage-gateway.sqlite';

  @Bool()
  @IsBoolean()
  DB_MIGRATIONS_RUN: boolean = true;

  /** Every query's deadline (PostgreSQL statement and read timeout, SQLite busy wait). */
  @IntIn(100, 600_000)
  DB_QUERY_TIMEOUT_MS: number = 5000;

  @Optional()
  @IsOptional()
  @IsString()
  @IsUrlOf('redis:', 'rediss:')
  REDIS_URL?: string;

  @Bool()
  @IsBoolean()
  USAGE_BRIDGE_ENABLED: boolean = true;

  @IsString()
  @IsUrlOf('http:', 'https:')
  USAGE_BRIDGE_URL: string = 'http://127.0.0.1:8001';

  @Optional()
  @IsOptional()
  @IsString()
  @IsUrlOf('http:', 'https:')
  USAGE_BRIDGE_FALLBACK_URL?: string;

  @IntIn(50, 120_000)
  USAGE_BRIDGE_TIMEOUT: number = 5000;

  @IntIn(0, 10)
  USAGE_BRIDGE_RETRIES: number = 2;

  @IsIn(BRIDGE_MODES)
  BRIDGE_MODE: (typeof BRIDGE_MODES)[number] = 'spawn';

  @IsString()
  @MinLength(1)
  BRIDGE_PYTHON: string = 'python3';

  @IsString()
  @MinLength(1)
  BRIDGE_SCRIPT: string = 'bridge/usage_bridge.py';

  /** Where the spawned bridge persists its usage config. */
  @IsString()
  @MinLength(1)
  BRIDGE_STATE_DIR: string = './data/bridge';

  /** 0 lets the supervisor pick a free port (used by tests running several gateways). */
  @IntIn(0, 65535)
  BRIDGE_PORT: number = 8001;

  @Bool()
  @IsBoolean()
  BRIDGE_AUTO_RESTART: boolean = true;

  @IntIn(0, 100)
  BRIDGE_MAX_RESTARTS: number = 3;

  @IntIn(0, 600_000)
  BRIDGE_RESTART_DELAY_MS: number = 2000;

  /** The restart delay doubles up to this (a crash loop settles at one attempt per this long). */
  @IntIn(0, 3_600_000)
  @NotShorterThan('BRIDGE_RESTART_DELAY_MS')
  BRIDGE_MAX_BACKOFF_MS: number = 300_000;

  /** A bridge healthy this long is not crash-looping: the restart count and delay start over. */
  @IntIn(1000, 86_400_000)
  BRIDGE_STABLE_AFTER_MS: number = 600_000;

  /** While ready, the bridge's /health is checked this often, each check with this deadline. */
  @IntIn(100, 60_000)
  BRIDGE_WATCH_INTERVAL_MS: number = 2000;

  /** This many watch checks in a row without an answer: the bridge is hung, SIGKILLed, replaced. */
  @IntIn(1, 100)
  BRIDGE_HUNG_AFTER_CHECKS: number = 3;

  /** With auto-restart off, a failed bridge is tried again after this long; 0 never. */
  @IntIn(0, 86_400_000)
  BRIDGE_FAILED_RETRY_MS: number = 300_000;

  @IntIn(10, 60_000)
  BRIDGE_HEALTH_INTERVAL_MS: number = 500;

  @IntIn(1, 1000)
  BRIDGE_HEALTH_MAX_RETRIES: number = 20;

  @IntIn(100, 600_000)
  @NotShorterThan('BRIDGE_HEALTH_INTERVAL_MS')
  BRIDGE_HEALTH_TIMEOUT_MS: number = 10_000;

  @IntIn(0, 600_000)
  BRIDGE_SHUTDOWN_TIMEOUT_MS: number = 5000;

  @IntIn(0, 3_600_000)
  BRIDGE_HEALTH_CACHE_MS: number = 30_000;

  @IsString()
  @Matches(/^\s*([A-Za-z_][\w.]*\s*(,\s*[A-Za-z_][\w.]*\s*)*)?$/, {
    message: 'BRIDGE_PREFLIGHT_IMPORTS must be a comma-separated list of Python module names',
  })
  BRIDGE_PREFLIGHT_IMPORTS: string = '';

  @Bool()
  @IsBoolean()
  BRIDGE_REQUIRED: boolean = false;

  @Optional()
  @IsOptional()
  @IsString()
  BRIDGE_PRICING_FILE?: string;

  @Optional()
  @IsOptional()
  @IsString()
  CLAUDE_CONFIG_DIR?: string;

  @Optional()
  @IsOptional()
  @IsString()
  CODEX_HOME?: string;

  @Optional()
  @IsOptional()
  @IsString()
  GEMINI_DATA_DIR?: string;

  @Optional()
  @IsOptional()
  @IsString()
  OPENCODE_DATA_DIR?: string;

  @Optional()
  @IsOptional()
  @IsString()
  AMP_DATA_DIR?: string;

  @IntIn(0, 3_600_000)
  USAGE_CACHE_TTL_MS: number = 1000;

  @IntIn(1, 3650)
  SNAPSHOT_RETENTION_DAYS: number = 30;

  /** A usage read answers by then from the best fallback while a slow bridge call goes on. */
  @IntIn(50, 600_000)
  USAGE_READ_DEADLINE_MS: number = 1000;

  /** Hook and domain events older than this are pruned; 0 keeps them for ever. */
  @IntIn(0, 36500)
  EVENT_RETENTION_DAYS: number = 30;

  /** Where alerts are POSTed (docs/design.md §8): http(s) URLs, comma-separated; unset sends none. */
  @Optional()
  @IsOptional()
  @IsString()
  @IsUrlList('http:', 'https:')
  ALERT_WEBHOOK_URLS?: string;

  /** How many minutes ahead a predicted limit is announced. */
  @IntIn(1, 1440)
  ALERT_LIMIT_LEAD_MIN: number = 30;

  /** An alert not acknowledged by a webhook receiver by then is given up (retries until then). */
  @IntIn(1000, 604_800_000)
  ALERT_DELIVERY_MAX_AGE_MS: number = 86_400_000;

  /**
   * How often the gateway's own machine's logs go into the team ledger (spawned bridge only);
   * 0: never.
   */
  @IntIn(0, 86_400_000)
  TEAM_LOCAL_LEDGER_INTERVAL_MS: number = 60_000;

  /** OTLP/gRPC (Gemini CLI's and collectors' default, 4317) on this port beside OTLP/HTTP; unset: off. */
  @Optional()
  @IsOptional()
  @IntIn(1, 65_535)
  OTLP_GRPC_PORT?: number;

  /** Where the model-request proxy (`POST /v1/messages`, docs/proxy.md) sends Anthropic requests. */
  @IsString()
  @IsUrlOf('http:', 'https:')
  PROXY_ANTHROPIC_URL: string = 'https://api.anthropic.com';

  /**
   * The organisation's Anthropic API key: members then authenticate to the proxy with their member
   * token and the key never leaves the gateway. Unset: callers bring their own credential
   * (pass-through, the member named by `X-Usage-Gateway-Token`).
   */
  @Optional()
  @IsOptional()
  @IsString()
  @MinLength(16)
  @MaxLength(512)
  PROXY_ANTHROPIC_API_KEY?: string;

  /** Where Codex's `POST /v1/responses` goes (the OpenAI API's base URL, `/v1` included). */
  @IsString()
  @IsUrlOf('http:', 'https:')
  PROXY_OPENAI_URL: string = 'https://api.openai.com/v1';

  /** The organisation's OpenAI API key (members send their member token); unset: pass-through. */
  @Optional()
  @IsOptional()
  @IsString()
  @MinLength(16)
  @MaxLength(512)
  PROXY_OPENAI_API_KEY?: string;

  /** Where Gemini CLI's `models/<model>:generateContent` calls go. */
  @IsString()
  @IsUrlOf('http:', 'https:')
  PROXY_GEMINI_URL: string = 'https://generativelanguage.googleapis.com';

  /** The organisation's Gemini API key (members send their member token); unset: pass-through. */
  @Optional()
  @IsOptional()
  @IsString()
  @MinLength(16)
  @MaxLength(512)
  PROXY_GEMINI_API_KEY?: string;

  /** An upstream silent this long (waiting for its answer, or between two of its bytes) is cut. */
  @IntIn(1000, 3_600_000)
  PROXY_IDLE_TIMEOUT_MS: number = 300_000;

  /**
   * With the database away, enforced budgets cannot be checked: true refuses the proxy's requests
   * (503), false (default) lets them through, counted in `proxy_budget_unchecked_total` and logged.
   */
  @Bool()
  @IsBoolean()
  PROXY_FAIL_CLOSED: boolean = false;

  /** Requests a member may send through the proxy per minute (every instance together); 0: no limit. */
  @IntIn(0, 1_000_000)
  PROXY_MEMBER_RPM: number = 0;

  /** Input tokens (estimated from the request's size) a member may send per minute; 0: no limit. */
  @IntIn(0, 1_000_000_000)
  PROXY_MEMBER_INPUT_TPM: number = 0;

  /** Largest request body the proxy forwards (the Messages API takes up to 32 MB). */
  @IntIn(1024, 64 * 1024 * 1024)
  PROXY_BODY_LIMIT_BYTES: number = 32 * 1024 * 1024;

  /** How often the usage is checked for alerts when nothing else asked for it. */
  @IntIn(1000, 3_600_000)
  ALERT_CHECK_INTERVAL_MS: number = 15_000;

  @IntIn(1, 10_000_000)
  RATE_LIMIT_READS_PER_MIN: number = 1200;

  @IntIn(1, 10_000_000)
  RATE_LIMIT_WRITES_PER_MIN: number = 600;

  @IsString()
  @IsOriginList()
  CORS_ORIGINS: string = 'http://localhost:3000,http://127.0.0.1:3000';

  /**
   * `Host` names served besides IP addresses, `localhost`, the bind address and the hosts of
   * CORS_ORIGINS (DNS rebinding): names, `.example.com` for a domain and its subdomains, or `*`.
   */
  @IsString()
  @IsHostList()
  ALLOWED_HOSTS: string = '';

  /**
   * HS256 secrets, comma-separated (rotation: every one is accepted). Each must be at least as
   * long as the hash (RFC 7518 §3.2).
   */
  @Optional()
  @IsOptional()
  @IsString()
  @IsSecretList(32, 'AUTH_JWT_SECRET')
  AUTH_JWT_SECRET?: string;

  @Optional()
  @IsOptional()
  @IsString()
  @MaxLength(512)
  AUTH_JWT_ISSUER?: string;

  @Optional()
  @IsOptional()
  @IsString()
  @MaxLength(512)
  AUTH_JWT_AUDIENCE?: string;

  /** When set, `/metrics` needs `Authorization: Bearer <it>`. */
  @Optional()
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters long' })
  METRICS_TOKEN?: string;

  @Bool()
  @IsBoolean()
  DOCS_ENABLED: boolean = true;

  @Optional()
  @IsOptional()
  @IsString()
  @IsSecretList(16, 'every API key')
  API_KEYS?: string;

  @IntIn(50, 3_600_000)
  WS_METRICS_INTERVAL_MS: number = 1000;

  @IntIn(1, 1_000_000)
  WS_MAX_CONNECTIONS: number = 10_000;

  @IntIn(1024, 100_000_000)
  WS_MAX_BUFFER_BYTES: number = 1_000_000;

  @IntIn(100, 3_600_000)
  WS_PING_INTERVAL_MS: number = 25_000;

  @IntIn(100, 3_600_000)
  @NotShorterThan('WS_PING_INTERVAL_MS')
  WS_PING_TIMEOUT_MS: number = 60_000;

  @IntIn(1, 100_000)
  WS_RATE_LIMIT_PER_SEC: number = 20;

  @Optional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  GITHUB_WEBHOOK_SECRET?: string;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  /** `pretty` (one short line each, for a terminal) or `json`; unset: pretty on a TTY, else json. */
  @Optional()
  @IsOptional()
  @IsIn(LOG_FORMATS)
  LOG_FORMAT?: (typeof LOG_FORMATS)[number];
}

/** Variables whose values must never be echoed back in an error message or a log line. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set([
  'PROXY_ANTHROPIC_API_KEY',
  'PROXY_OPENAI_API_KEY',
  'PROXY_GEMINI_API_KEY',
  'DATABASE_URL',
  'REDIS_URL',
  'AUTH_JWT_SECRET',
  'API_KEYS',
  'METRICS_TOKEN',
  'GITHUB_WEBHOOK_SECRET',
  // Webhook URLs carry their credential in the path (Slack, Discord): secrets too.
  'ALERT_WEBHOOK_URLS',
]);
