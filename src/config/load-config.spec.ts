import { describe, expect, it } from 'vitest';
import { ConfigValidationError, loadConfig } from './load-config';
import { isLoopbackHost } from './env.validators';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.server).toMatchObject({ port: 3000, host: '127.0.0.1', allowInsecure: false });
    expect(config.server.corsOrigins).toEqual(['http://localhost:3000', 'http://127.0.0.1:3000']);
    expect(config.database).toMatchObject({ type: 'sqlite', migrationsRun: true });
    expect(config.database.type === 'sqlite' && config.database.path).toMatch(
      /data\/usage-gateway\.sqlite$/,
    );
    expect(config.bridge).toMatchObject({
      enabled: true,
      mode: 'spawn',
      url: 'http://127.0.0.1:8001',
      timeoutMs: 5000,
      retries: 2,
      python: 'python3',
      port: 8001,
      maxRestarts: 3,
      restartDelayMs: 2000,
      healthIntervalMs: 500,
      healthMaxRetries: 20,
      healthTimeoutMs: 10_000,
      shutdownTimeoutMs: 5000,
      healthCacheMs: 30_000,
      preflightImports: [],
      required: false,
    });
    expect(config.usage).toEqual({
      cacheTtlMs: 1000,
      snapshotRetentionDays: 30,
      readDeadlineMs: 1000,
    });
    expect(config.events).toEqual({ retentionDays: 30 });
    expect(config.rateLimit).toEqual({ readsPerMin: 1200, writesPerMin: 600 });
    expect(config.docs).toEqual({ enabled: true });
    expect(config.auth).toEqual({
      jwtSecrets: [],
      jwtIssuer: undefined,
      jwtAudience: undefined,
      apiKeys: [],
      metricsToken: undefined,
    });
    expect(config.realtime).toEqual({
      metricsIntervalMs: 1000,
      maxConnections: 10_000,
      maxBufferBytes: 1_000_000,
      pingIntervalMs: 25_000,
      pingTimeoutMs: 60_000,
      rateLimitPerSec: 20,
    });
    expect(config.log.level).toBe('info');
    expect(Object.isFrozen(config.bridge)).toBe(true);
  });

  it('selects PostgreSQL when DATABASE_URL is set', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/app' });
    expect(config.database).toEqual({
      type: 'postgres',
      url: 'postgres://u@db:5432/app',
      migrationsRun: true,
      queryTimeoutMs: 5000,
    });
  });

  it('parses booleans, integers and lists strictly', () => {
    const config = loadConfig({
      DB_MIGRATIONS_RUN: 'false',
      BRIDGE_AUTO_RESTART: '0',
      BRIDGE_REQUIRED: 'yes',
      PORT: ' 8080 ',
      BRIDGE_PREFLIGHT_IMPORTS: 'json, sqlite3 ,xml.etree',
      API_KEYS: 'key-aaaaaaaaaaaaaaaa,key-bbbbbbbbbbbbbbbb',
      REDIS_URL: '',
    });
    expect(config.database.migrationsRun).toBe(false);
    expect(config.bridge.autoRestart).toBe(false);
    expect(config.bridge.required).toBe(true);
    expect(config.server.port).toBe(8080);
    expect(config.bridge.preflightImports).toEqual(['json', 'sqlite3', 'xml.etree']);
    expect(config.auth.apiKeys).toHaveLength(2);
    expect(config.redis.url).toBeUndefined();
  });

  it('turns the bridge off when BRIDGE_MODE=off or USAGE_BRIDGE_ENABLED=false', () => {
    expect(loadConfig({ BRIDGE_MODE: 'off' }).bridge.enabled).toBe(false);
    expect(loadConfig({ USAGE_BRIDGE_ENABLED: 'false' }).bridge.enabled).toBe(false);
  });

  it('lists every problem at once, naming each variable', () => {
    const problems = problemsOf({
      PORT: 'abc',
      USAGE_BRIDGE_URL: 'ftp://x',
      HOST: '0.0.0.0',
      BRIDGE_MODE: 'docker',
      DB_MIGRATIONS_RUN: 'maybe',
      LOG_LEVEL: 'loud',
    });
    expect(problems).toHaveLength(6);
    expect(problems.join('\n')).toMatch(/PORT="abc"/);
    expect(problems.join('\n')).toMatch(/USAGE_BRIDGE_URL="ftp:\/\/x": only http\/https/);
    expect(problems.join('\n')).toMatch(/HOST="0\.0\.0\.0": binding a non-loopback address/);
    expect(problems.join('\n')).toMatch(/BRIDGE_MODE="docker"/);
    expect(problems.join('\n')).toMatch(/DB_MIGRATIONS_RUN="maybe"/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL="loud"/);
  });

  it('puts every problem in the error message too', () => {
    expect(() => loadConfig({ PORT: '70000', USAGE_BRIDGE_TIMEOUT: '-5' })).toThrow(
      /Invalid configuration \(2 problems\):\n {2}- PORT="70000".*\n {2}- USAGE_BRIDGE_TIMEOUT="-5"/s,
    );
  });

  it('accepts a public HOST with authentication or an explicit ALLOW_INSECURE', () => {
    expect(loadConfig({ HOST: '0.0.0.0', ALLOW_INSECURE: 'true' }).server.host).toBe('0.0.0.0');
    expect(
      loadConfig({ HOST: '0.0.0.0', AUTH_JWT_SECRET: 's'.repeat(32) }).auth.jwtSecrets,
    ).toEqual(['s'.repeat(32)]);
    expect(
      loadConfig({ AUTH_JWT_SECRET: `${'a'.repeat(32)}, ${'b'.repeat(40)}` }).auth.jwtSecrets,
    ).toEqual(['a'.repeat(32), 'b'.repeat(40)]);
    expect(loadConfig({ HOST: '::', API_KEYS: 'k'.repeat(16) }).auth.apiKeys).toHaveLength(1);
  });

  it('refuses a short secret anywhere in a rotation list, without echoing it', () => {
    const problems = problemsOf({ AUTH_JWT_SECRET: `${'a'.repeat(32)},short-secret` });
    expect(problems).toEqual([expect.stringMatching(/^AUTH_JWT_SECRET=\(value hidden\): .*32/)]);
    expect(problems.join()).not.toContain('short-secret');
  });

  it('refuses malformed URLs, origins, keys and secrets without echoing secrets', () => {
    const problems = problemsOf({
      DATABASE_URL: 'mysql://root:hunter2@db/app',
      REDIS_URL: 'http://redis',
      USAGE_BRIDGE_FALLBACK_URL: 'not a url',
      CORS_ORIGINS: 'http://ok.example,https://bad.example/path,*',
      API_KEYS: 'short',
      AUTH_JWT_SECRET: 'tooshort',
    });
    const text = problems.join('\n');
    expect(problems).toHaveLength(6); // the bad origins are named together, one line
    expect(text).toMatch(/DATABASE_URL=\(value hidden\)/);
    expect(text).toMatch(/REDIS_URL=\(value hidden\)/);
    expect(text).toMatch(/USAGE_BRIDGE_FALLBACK_URL="not a url": not a valid URL/);
    expect(text).toMatch(/CORS_ORIGINS=".*": "https:\/\/bad\.example\/path", "\*" not an origin/);
    expect(text).toMatch(/API_KEYS=\(value hidden\)/);
    expect(text).toMatch(/AUTH_JWT_SECRET=\(value hidden\): AUTH_JWT_SECRET must be at least 32/);
    expect(text).not.toMatch(/hunter2|tooshort|short,/);
  });

  it('refuses contradictory timing settings', () => {
    const problems = problemsOf({
      BRIDGE_HEALTH_INTERVAL_MS: '5000',
      BRIDGE_HEALTH_TIMEOUT_MS: '1000',
      WS_PING_INTERVAL_MS: '30000',
      WS_PING_TIMEOUT_MS: '1000',
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^BRIDGE_HEALTH_TIMEOUT_MS="1000": must not be shorter than BRIDGE_HEALTH_INTERVAL_MS \(5000\)/,
    );
    expect(problems[1]).toMatch(/^WS_PING_TIMEOUT_MS="1000": .*WS_PING_INTERVAL_MS \(30000\)/);
  });

  it('recognises loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});
