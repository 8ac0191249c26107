import { join, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { AppConfig } from './app-config';
import { EnvSchema, SECRET_VARIABLES } from './env.schema';
import { splitList } from './env.validators';

const ONE_MEBIBYTE = 1024 * 1024;

/** Thrown when the environment is invalid; `problems` names every bad variable, one line each. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    // One problem is one line; several are listed, one a line.
    super(
      problems.length === 1
        ? `Invalid configuration: ${problems[0]}`
        : `Invalid configuration (${problems.length} problems):\n` +
            problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigValidationError';
  }
}

function shown(name: string, value: unknown): string {
  if (SECRET_VARIABLES.has(name)) return '(value hidden)';
  return JSON.stringify(value);
}

function describeSchemaErrors(errors: readonly ValidationError[], raw: NodeJS.ProcessEnv) {
  return errors.map((error) => {
    const constraints = error.constraints ?? {};
    // A value of the wrong kind says only that (not also "must not be greater than 65535").
    const kind = constraints.isInt ?? constraints.isBoolean;
    const messages = kind ?? Object.values(constraints).join('; ');
    return `${error.property}=${shown(error.property, raw[error.property])}: ${messages}`;
  });
}

/** Variables a Python child needs to find itself and the user's files. */
const CHILD_ENV_PASSTHROUGH = [
  'PATH',
  'HOME',
  'USER',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'XDG_CONFIG_HOME',
  'PYTHONPATH',
  'PYTHONHOME',
  'SYSTEMROOT',
];

function childEnvironment(source: NodeJS.ProcessEnv, env: EnvSchema): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of CHILD_ENV_PASSTHROUGH) {
    const value = source[key];
    if (value !== undefined) out[key] = value;
  }
  if (env.CLAUDE_CONFIG_DIR) out.CLAUDE_CONFIG_DIR = env.CLAUDE_CONFIG_DIR;
  // Other agents' data (docs/agents.md): unset, the bridge reads each agent's default folder.
  for (const key of [
    'CODEX_HOME',
    'GEMINI_DATA_DIR',
    'OPENCODE_DATA_DIR',
    'AMP_DATA_DIR',
  ] as const) {
    if (env[key]) out[key] = env[key];
  }
  if (env.BRIDGE_PRICING_FILE) out.BRIDGE_PRICING_FILE = resolve(env.BRIDGE_PRICING_FILE);
  // Line-buffered output, so the ready line and stderr arrive as they are written.
  out.PYTHONUNBUFFERED = '1';
  return out;
}

/**
 * Validates the environment (docs/design.md §3) and returns the typed configuration. Every problem is
 * collected before failing, so one boot attempt tells the operator everything that is wrong.
 * This is the only place in the code base that reads environment variables.
 */
export function loadConfig(
  source: NodeJS.ProcessEnv = process.env,
  { tty = Boolean(process.stdout.isTTY) }: { tty?: boolean } = {},
): AppConfig {
  const env = plainToInstance(EnvSchema, { ...source }, { exposeDefaultValues: true });
  const problems = describeSchemaErrors(validateSync(env), source);
  if (problems.length > 0) throw new ConfigValidationError(problems);

  return Object.freeze({
    server: Object.freeze({
      port: env.PORT,
      host: env.HOST,
      allowInsecure: env.ALLOW_INSECURE,
      corsOrigins: Object.freeze(splitList(env.CORS_ORIGINS)),
      allowedHosts: Object.freeze(splitList(env.ALLOWED_HOSTS)),
      bodyLimitBytes: ONE_MEBIBYTE,
    }),
    database: Object.freeze(
      env.DATABASE_URL
        ? {
            type: 'postgres' as const,
            url: env.DATABASE_URL,
            migrationsRun: env.DB_MIGRATIONS_RUN,
            queryTimeoutMs: env.DB_QUERY_TIMEOUT_MS,
          }
        : {
            type: 'sqlite' as const,
            path: resolve(env.DB_SQLITE_PATH),
            migrationsRun: env.DB_MIGRATIONS_RUN,
            queryTimeoutMs: env.DB_QUERY_TIMEOUT_MS,
          },
    ),
    redis: Object.freeze({ url: env.REDIS_URL }),
    bridge: Object.freeze({
      enabled: env.USAGE_BRIDGE_ENABLED && env.BRIDGE_MODE !== 'off',
      mode: env.BRIDGE_MODE,
      url: env.USAGE_BRIDGE_URL.replace(/\/+$/, ''),
      fallbackUrl: env.USAGE_BRIDGE_FALLBACK_URL?.replace(/\/+$/, ''),
      timeoutMs: env.USAGE_BRIDGE_TIMEOUT,
      retries: env.USAGE_BRIDGE_RETRIES,
      python: env.BRIDGE_PYTHON,
      // The default is found next to the gateway's code, wherever it is started from.
      script:
        source.BRIDGE_SCRIPT === undefined || source.BRIDGE_SCRIPT.trim() === ''
          ? join(__dirname, '..', '..', 'bridge', 'usage_bridge.py')
          : resolve(env.BRIDGE_SCRIPT),
      stateDir: resolve(env.BRIDGE_STATE_DIR),
      port: env.BRIDGE_PORT,
      autoRestart: env.BRIDGE_AUTO_RESTART,
      maxRestarts: env.BRIDGE_MAX_RESTARTS,
      restartDelayMs: env.BRIDGE_RESTART_DELAY_MS,
      failedRetryMs: env.BRIDGE_FAILED_RETRY_MS,
      maxBackoffMs: env.BRIDGE_MAX_BACKOFF_MS,
      stableAfterMs: env.BRIDGE_STABLE_AFTER_MS,
      watchIntervalMs: env.BRIDGE_WATCH_INTERVAL_MS,
      hungAfterChecks: env.BRIDGE_HUNG_AFTER_CHECKS,
      healthIntervalMs: env.BRIDGE_HEALTH_INTERVAL_MS,
      healthMaxRetries: env.BRIDGE_HEALTH_MAX_RETRIES,
      healthTimeoutMs: env.BRIDGE_HEALTH_TIMEOUT_MS,
      shutdownTimeoutMs: env.BRIDGE_SHUTDOWN_TIMEOUT_MS,
      healthCacheMs: env.BRIDGE_HEALTH_CACHE_MS,
      preflightImports: Object.freeze(splitList(env.BRIDGE_PREFLIGHT_IMPORTS)),
      required: env.BRIDGE_REQUIRED,
      pricingFile: env.BRIDGE_PRICING_FILE ? resolve(env.BRIDGE_PRICING_FILE) : undefined,
      claudeConfigDir: env.CLAUDE_CONFIG_DIR,
      childEnv: Object.freeze(childEnvironment(source, env)),
    }),
    usage: Object.freeze({
      cacheTtlMs: env.USAGE_CACHE_TTL_MS,
      snapshotRetentionDays: env.SNAPSHOT_RETENTION_DAYS,
      readDeadlineMs: env.USAGE_READ_DEADLINE_MS,
    }),
    events: Object.freeze({ retentionDays: env.EVENT_RETENTION_DAYS }),
    alerts: Object.freeze({
      webhookUrls: Object.freeze(splitList(env.ALERT_WEBHOOK_URLS)),
      limitLeadMin: env.ALERT_LIMIT_LEAD_MIN,
      checkIntervalMs: env.ALERT_CHECK_INTERVAL_MS,
      deliveryMaxAgeMs: env.ALERT_DELIVERY_MAX_AGE_MS,
    }),
    team: Object.freeze({
      localLedgerIntervalMs: env.TEAM_LOCAL_LEDGER_INTERVAL_MS,
      otlpGrpcPort: env.OTLP_GRPC_PORT,
    }),
    proxy: Object.freeze({
      anthropicUrl: env.PROXY_ANTHROPIC_URL.replace(/\/+$/, ''),
      anthropicApiKey: env.PROXY_ANTHROPIC_API_KEY,
      openaiUrl: env.PROXY_OPENAI_URL.replace(/\/+$/, ''),
      openaiApiKey: env.PROXY_OPENAI_API_KEY,
      geminiUrl: env.PROXY_GEMINI_URL.replace(/\/+$/, ''),
      geminiApiKey: env.PROXY_GEMINI_API_KEY,
      idleTimeoutMs: env.PROXY_IDLE_TIMEOUT_MS,
      bodyLimitBytes: env.PROXY_BODY_LIMIT_BYTES,
      failClosed: env.PROXY_FAIL_CLOSED,
      memberRpm: env.PROXY_MEMBER_RPM,
      memberInputTpm: env.PROXY_MEMBER_INPUT_TPM,
    }),
    rateLimit: Object.freeze({
      readsPerMin: env.RATE_LIMIT_READS_PER_MIN,
      writesPerMin: env.RATE_LIMIT_WRITES_PER_MIN,
    }),
    auth: Object.freeze({
      jwtSecrets: Object.freeze(splitList(env.AUTH_JWT_SECRET)),
      jwtIssuer: env.AUTH_JWT_ISSUER,
      jwtAudience: env.AUTH_JWT_AUDIENCE,
      apiKeys: Object.freeze(splitList(env.API_KEYS)),
      metricsToken: env.METRICS_TOKEN,
    }),
    docs: Object.freeze({ enabled: env.DOCS_ENABLED }),
    realtime: Object.freeze({
      metricsIntervalMs: env.WS_METRICS_INTERVAL_MS,
      maxConnections: env.WS_MAX_CONNECTIONS,
      maxBufferBytes: env.WS_MAX_BUFFER_BYTES,
      pingIntervalMs: env.WS_PING_INTERVAL_MS,
      pingTimeoutMs: env.WS_PING_TIMEOUT_MS,
      rateLimitPerSec: env.WS_RATE_LIMIT_PER_SEC,
    }),
    github: Object.freeze({ webhookSecret: env.GITHUB_WEBHOOK_SECRET }),
    log: Object.freeze({
      level: env.LOG_LEVEL,
      format: env.LOG_FORMAT ?? (tty ? ('pretty' as const) : ('json' as const)),
      colour: !source.NO_COLOR,
    }),
  });
}
