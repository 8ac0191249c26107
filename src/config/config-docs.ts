import { EnvSchema, SECRET_VARIABLES } from './env.schema';

/** Where a variable is listed (README table and `.env.example` sections). */
export type ConfigGroup =
  'server' | 'security' | 'storage' | 'usage bridge' | 'proxy' | 'alerts' | 'realtime' | 'logging';

export interface ConfigDoc {
  readonly group: ConfigGroup;
  readonly meaning: string;
  /** What the default is when it is not a value (unset, computed). */
  readonly defaultText?: string;
}

/**
 * One line of documentation for every variable of EnvSchema: the README's configuration table and
 * `.env.example` are generated from this and the schema's defaults (`npm run docs:config`), and a
 * test fails when either is out of date. The `Record` over the schema's keys makes a new variable
 * without a line here a compile error.
 */
export const CONFIG_DOCS: Readonly<Record<keyof EnvSchema, ConfigDoc>> = {
  PORT: { group: 'server', meaning: 'listen port (0: any free one)' },
  HOST: {
    group: 'server',
    meaning:
      'listen address; anything but loopback needs `AUTH_JWT_SECRET` or `API_KEYS` (or `ALLOW_INSECURE=true`)',
  },
  ALLOW_INSECURE: {
    group: 'server',
    meaning: 'accept an unauthenticated service on a network address',
  },
  CORS_ORIGINS: {
    group: 'server',
    meaning: 'exact origins allowed for REST (CORS) and both sockets',
  },
  ALLOWED_HOSTS: {
    group: 'security',
    meaning:
      '`Host` names served besides IP addresses, `localhost`, the bind address and the hosts of `CORS_ORIGINS` (`.domain` for its subdomains, `*` for any) — DNS rebinding',
  },
  AUTH_JWT_SECRET: {
    group: 'security',
    meaning:
      'HS256 secret(s), each ≥ 32 characters, comma-separated for rotation; the gateway never issues tokens',
  },
  AUTH_JWT_ISSUER: { group: 'security', meaning: 'checked against `iss` when set' },
  AUTH_JWT_AUDIENCE: { group: 'security', meaning: 'checked against `aud` when set' },
  API_KEYS: {
    group: 'security',
    meaning:
      'comma list, each ≥ 16 characters: `X-API-Key` on REST, `api_key` on sockets; a key acts as admin',
  },
  METRICS_TOKEN: {
    group: 'security',
    meaning: 'when set, `/metrics` needs `Authorization: Bearer <it>`',
  },
  DOCS_ENABLED: { group: 'security', meaning: '`false` hides `/docs` and `/docs-json`' },
  RATE_LIMIT_READS_PER_MIN: {
    group: 'security',
    meaning: 'REST reads per minute per verified credential, else per address',
  },
  RATE_LIMIT_WRITES_PER_MIN: {
    group: 'security',
    meaning: 'REST writes per minute per verified credential, else per address',
  },
  GITHUB_WEBHOOK_SECRET: {
    group: 'security',
    meaning: 'enables `POST /api/webhooks/github` (HMAC-SHA256 verified)',
  },
  DATABASE_URL: {
    group: 'storage',
    meaning: '`postgres://user:password@host:5432/db` selects PostgreSQL',
    defaultText: 'unset: SQLite',
  },
  DB_SQLITE_PATH: {
    group: 'storage',
    meaning: 'the embedded database file (its folder is created; WAL)',
  },
  DB_MIGRATIONS_RUN: { group: 'storage', meaning: 'run pending migrations at boot' },
  DB_QUERY_TIMEOUT_MS: {
    group: 'storage',
    meaning:
      'deadline of every query (PostgreSQL `statement_timeout` and read timeout, SQLite busy wait); a write past it is answered 503 + `Retry-After`',
  },
  REDIS_URL: {
    group: 'storage',
    meaning: 'several instances: Socket.IO across them, shared rate limits, cluster locks',
  },
  SNAPSHOT_RETENTION_DAYS: { group: 'storage', meaning: 'stored usage snapshots kept this long' },
  EVENT_RETENTION_DAYS: {
    group: 'storage',
    meaning:
      'hook and domain events, alerts and official limit figures kept this long (0: for ever)',
  },
  USAGE_BRIDGE_ENABLED: { group: 'usage bridge', meaning: '`false`: never call the bridge' },
  BRIDGE_MODE: {
    group: 'usage bridge',
    meaning:
      '`spawn` (a child on `127.0.0.1:BRIDGE_PORT`), `external` (`USAGE_BRIDGE_URL` only), `off`',
  },
  USAGE_BRIDGE_URL: { group: 'usage bridge', meaning: 'the bridge for `BRIDGE_MODE=external`' },
  USAGE_BRIDGE_FALLBACK_URL: {
    group: 'usage bridge',
    meaning: 'a second bridge, used while the first one’s breaker is open',
  },
  USAGE_BRIDGE_TIMEOUT: { group: 'usage bridge', meaning: 'per-attempt timeout, ms' },
  USAGE_BRIDGE_RETRIES: { group: 'usage bridge', meaning: 'retries of idempotent reads' },
  USAGE_READ_DEADLINE_MS: {
    group: 'usage bridge',
    meaning: 'a usage read answers by then from the best fallback while a slow call goes on',
  },
  USAGE_CACHE_TTL_MS: { group: 'usage bridge', meaning: 'micro-cache for identical usage reads' },
  BRIDGE_PYTHON: { group: 'usage bridge', meaning: 'the Python that runs the bridge' },
  BRIDGE_SCRIPT: {
    group: 'usage bridge',
    meaning: 'the bridge script (default: the one beside the gateway)',
  },
  BRIDGE_PORT: { group: 'usage bridge', meaning: 'the spawned bridge’s port (0: any free one)' },
  BRIDGE_STATE_DIR: { group: 'usage bridge', meaning: 'where the bridge keeps its usage config' },
  BRIDGE_AUTO_RESTART: {
    group: 'usage bridge',
    meaning: 'restart a bridge that exits, fails to start or hangs — for as long as it takes',
  },
  BRIDGE_MAX_RESTARTS: {
    group: 'usage bridge',
    meaning:
      'failures in a row before the state says `failed` (and `bridge_failed` is alerted); restarts go on',
  },
  BRIDGE_RESTART_DELAY_MS: {
    group: 'usage bridge',
    meaning: 'first restart delay (doubles each time, up to `BRIDGE_MAX_BACKOFF_MS`)',
  },
  BRIDGE_MAX_BACKOFF_MS: { group: 'usage bridge', meaning: 'the longest restart delay' },
  BRIDGE_STABLE_AFTER_MS: {
    group: 'usage bridge',
    meaning: 'healthy this long: the restart count and delay start over',
  },
  BRIDGE_WATCH_INTERVAL_MS: {
    group: 'usage bridge',
    meaning: 'while ready, `/health` is checked this often (each check with this deadline)',
  },
  BRIDGE_HUNG_AFTER_CHECKS: {
    group: 'usage bridge',
    meaning: 'checks in a row without an answer before a hung bridge is SIGKILLed and replaced',
  },
  BRIDGE_FAILED_RETRY_MS: {
    group: 'usage bridge',
    meaning: 'with auto-restart off, a failed bridge is tried again this much later (0: never)',
  },
  BRIDGE_HEALTH_INTERVAL_MS: { group: 'usage bridge', meaning: 'start-up health poll interval' },
  BRIDGE_HEALTH_MAX_RETRIES: { group: 'usage bridge', meaning: 'start-up health polls' },
  BRIDGE_HEALTH_TIMEOUT_MS: { group: 'usage bridge', meaning: 'start-up health deadline' },
  BRIDGE_SHUTDOWN_TIMEOUT_MS: { group: 'usage bridge', meaning: 'SIGTERM, then SIGKILL after' },
  BRIDGE_HEALTH_CACHE_MS: { group: 'usage bridge', meaning: 'how long a health verdict is kept' },
  BRIDGE_PREFLIGHT_IMPORTS: {
    group: 'usage bridge',
    meaning: 'Python modules that must import before the bridge is spawned',
  },
  BRIDGE_REQUIRED: {
    group: 'usage bridge',
    meaning: '`true`: an unhealthy bridge fails `/health/ready`',
  },
  BRIDGE_PRICING_FILE: {
    group: 'usage bridge',
    meaning: 'a newer model price table',
    defaultText: 'the bundled table',
  },
  CLAUDE_CONFIG_DIR: {
    group: 'usage bridge',
    meaning: 'Claude Code config dirs (comma list), each holding `projects/`',
    defaultText: '`~/.config/claude` and `~/.claude`',
  },
  CODEX_HOME: {
    group: 'usage bridge',
    meaning: 'OpenAI Codex CLI homes (comma list): their `sessions/` and `archived_sessions/`',
    defaultText: '`~/.codex`',
  },
  GEMINI_DATA_DIR: {
    group: 'usage bridge',
    meaning: 'Gemini CLI data folders (comma list) holding `<project>/chats/`',
    defaultText: '`~/.gemini/tmp`',
  },
  OPENCODE_DATA_DIR: {
    group: 'usage bridge',
    meaning: 'OpenCode data folders (comma list) holding `opencode.db` (read-only)',
    defaultText: '`~/.local/share/opencode`',
  },
  OTLP_GRPC_PORT: {
    group: 'server',
    meaning:
      'OTLP/gRPC receiver port (Gemini CLI and collectors default to 4317), same auth and limits as OTLP/HTTP',
    defaultText: 'off',
  },
  AMP_DATA_DIR: {
    group: 'usage bridge',
    meaning: 'Amp data folders (comma list) holding `threads/`',
    defaultText: '`~/.local/share/amp`',
  },
  ALERT_WEBHOOK_URLS: {
    group: 'alerts',
    meaning: 'where alerts are POSTed (comma list; a secret: never logged, no redirects)',
  },
  ALERT_LIMIT_LEAD_MIN: {
    group: 'alerts',
    meaning: 'how many minutes ahead a predicted limit is announced',
  },
  TEAM_LOCAL_LEDGER_INTERVAL_MS: {
    group: 'usage bridge',
    meaning:
      "how often this machine's logs go into the team ledger as member `local` (spawned bridge only; 0: never)",
  },
  PROXY_ANTHROPIC_URL: {
    group: 'proxy',
    meaning:
      'where `POST /v1/messages` and `/v1/messages/count_tokens` are forwarded (docs/proxy.md)',
  },
  PROXY_ANTHROPIC_API_KEY: {
    group: 'proxy',
    meaning:
      "the organisation's Anthropic API key: members send their member token instead; unset: callers' own credentials pass through",
  },
  PROXY_OPENAI_URL: {
    group: 'proxy',
    meaning:
      "where Codex's `POST /v1/responses` is forwarded, as `<url>/responses` (the API's base URL, `/v1` included)",
  },
  PROXY_OPENAI_API_KEY: {
    group: 'proxy',
    meaning:
      "the organisation's OpenAI API key: members send their member token instead; unset: callers' own credentials pass through",
  },
  PROXY_GEMINI_URL: {
    group: 'proxy',
    meaning: "where Gemini CLI's `/v1beta/models/<model>:<call>` requests are forwarded",
  },
  PROXY_GEMINI_API_KEY: {
    group: 'proxy',
    meaning:
      "the organisation's Gemini API key: members send their member token instead; unset: callers' own credentials pass through",
  },
  PROXY_IDLE_TIMEOUT_MS: {
    group: 'proxy',
    meaning: 'an upstream silent this long (before its answer or between two bytes) is cut',
  },
  PROXY_FAIL_CLOSED: {
    group: 'proxy',
    meaning:
      'with the database away, enforced budgets cannot be checked: `true` refuses requests (503), `false` lets them through, counted, logged and alerted (`budget_unchecked`)',
  },
  PROXY_MEMBER_RPM: {
    group: 'proxy',
    meaning:
      'requests a member may send through the proxy per minute, every instance together (429 `rate_limit_error`); 0: no limit',
  },
  PROXY_MEMBER_INPUT_TPM: {
    group: 'proxy',
    meaning:
      'input tokens (estimated: 4 bytes of request a token) a member may send per minute; 0: no limit',
  },
  PROXY_BODY_LIMIT_BYTES: {
    group: 'proxy',
    meaning: 'largest request body the proxy forwards (the Messages API takes up to 32 MB)',
  },
  ALERT_CHECK_INTERVAL_MS: {
    group: 'alerts',
    meaning: 'how often usage is checked when nothing else read it',
  },
  ALERT_DELIVERY_MAX_AGE_MS: {
    group: 'alerts',
    meaning:
      'webhook deliveries are retried (1 s doubling to 1 min, across restarts) until the alert is this old',
  },
  WS_METRICS_INTERVAL_MS: { group: 'realtime', meaning: 'skill-metrics broadcast period' },
  WS_MAX_CONNECTIONS: { group: 'realtime', meaning: 'sockets at once, both transports' },
  WS_MAX_BUFFER_BYTES: {
    group: 'realtime',
    meaning: 'largest socket message; unsent bytes a replaying client may hold',
  },
  WS_PING_INTERVAL_MS: { group: 'realtime', meaning: 'socket ping interval' },
  WS_PING_TIMEOUT_MS: { group: 'realtime', meaning: 'socket ping timeout' },
  WS_RATE_LIMIT_PER_SEC: { group: 'realtime', meaning: 'client messages per socket per second' },
  LOG_LEVEL: {
    group: 'logging',
    meaning: '`fatal` `error` `warn` `info` `debug` `trace` `silent`',
  },
  LOG_FORMAT: {
    group: 'logging',
    meaning: '`pretty` (one short line each) or `json`',
    defaultText: 'pretty on a terminal, else json',
  },
};

const GROUPS: readonly ConfigGroup[] = [
  'server',
  'security',
  'storage',
  'usage bridge',
  'proxy',
  'alerts',
  'realtime',
  'logging',
];

/** The schema's default for a variable, as it is written in an environment ('' when unset). */
export function defaultValue(name: keyof EnvSchema): string {
  const value = (new EnvSchema() as unknown as Record<string, unknown>)[name];
  return value === undefined ? '' : String(value);
}

/** Variables in table order: by group, then as listed above. */
export function documentedVariables(): Array<keyof EnvSchema> {
  const names = Object.keys(CONFIG_DOCS) as Array<keyof EnvSchema>;
  return GROUPS.flatMap((group) => names.filter((n) => CONFIG_DOCS[n].group === group));
}

/** The README's configuration table (Markdown). */
export function configTable(): string {
  const rows = documentedVariables().map((name) => {
    const doc = CONFIG_DOCS[name];
    const value = defaultValue(name);
    const shown = doc.defaultText ?? (value === '' ? 'unset' : `\`${value}\``);
    return `| \`${name}\` | ${shown} | ${doc.meaning} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** `.env.example`: every variable at its default (secrets empty), then Docker Compose's own. */
export function envExample(): string {
  const out = [
    '# Generated by `npm run docs:config` from src/config/config-docs.ts: every variable, at its',
    '# default. Only Docker Compose reads a `.env` file (`cp .env.example .env`); `npm start` reads',
    '# the environment it is started in.',
  ];
  for (const group of GROUPS) {
    out.push('', `# --- ${group} ---`);
    for (const name of documentedVariables().filter((n) => CONFIG_DOCS[n].group === group)) {
      out.push(`# ${CONFIG_DOCS[name].meaning.replaceAll('`', '')}`);
      out.push(`${name}=${SECRET_VARIABLES.has(name) ? '' : defaultValue(name)}`);
    }
  }
  out.push(
    '',
    '# --- docker compose only ---',
    'POSTGRES_USER=usage',
    '# Required by docker-compose.yml: choose one.',
    'POSTGRES_PASSWORD=',
    'POSTGRES_DB=usage_gateway',
    'GATEWAY_PORT=3000',
    '# Where Claude Code keeps its logs on the host (mounted read-only into the api container).',
    'CLAUDE_HOME=~/.claude',
  );
  return `${out.join('\n')}\n`;
}
