import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config';
import { dockerStages, type Stage } from './support/dockerfile';

/** No Docker engine runs here, so the container files are checked by reading them. */
const ROOT = join(__dirname, '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

describe('Dockerfile', () => {
  const stages = dockerStages(read('Dockerfile'));
  const final = stages.at(-1) as Stage;

  it('is multi-stage on Node 24 LTS slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const names = new Set<string>();
    for (const stage of stages) {
      // Every stage starts from Node 24 slim, directly or through an earlier stage.
      if (!names.has(stage.from)) expect(stage.from).toMatch(/^node:24(\.\d+)*(-[a-z]+)?-slim$/);
      if (stage.name) names.add(stage.name);
    }
    expect(stages.at(-1)?.from).toMatch(/^node:24/);
  });

  it('pins the exact Node.js release, which CI reads to run the suite on it', () => {
    const pinned = /^ARG NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(read('Dockerfile'))?.[1];
    expect(pinned).toMatch(/^24\./);
    expect(final.from).toBe(`node:${pinned}-bookworm-slim`);
    expect(read('.ci/run')).toMatch(/ARG NODE_VERSION=.*Dockerfile/);
  });

  it('installs production dependencies only for the final image', () => {
    const omitDev = stages.flatMap((s) => s.lines).filter((l) => /npm ci --omit=dev/.test(l));
    expect(omitDev).toHaveLength(1);
    const depsStage = stages.find((s) => s.lines.some((l) => /npm ci --omit=dev/.test(l)));
    expect(
      final.lines.some(
        (l) => l.includes(`--from=${depsStage?.name} `) && l.includes('node_modules'),
      ),
    ).toBe(true);
  });

  it('runs as a non-root user with a health check on /health/live', () => {
    const user = final.lines.filter((l) => /^USER\s+/i.test(l)).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|$)/i);
    const healthcheck = final.lines.find((l) => /^HEALTHCHECK\s/i.test(l));
    expect(healthcheck).toContain('/health/live');
  });

  it('builds the dashboard with the code (web/ is copied into the build stage)', () => {
    const build = stages.find((s) => s.lines.some((l) => /^RUN npm run build$/.test(l)));
    expect(build?.lines.some((l) => /^COPY\s+web\s+\.\/web$/.test(l))).toBe(true);
  });

  it('ships python3 and the bridge so BRIDGE_MODE=spawn works inside it', () => {
    expect(final.lines.some((l) => /apt-get install.*\bpython3\b/.test(l))).toBe(true);
    expect(final.lines.some((l) => /^COPY\b.*\bbridge\s+\.\/bridge$/.test(l))).toBe(true);
    expect(final.lines.find((l) => /^CMD\s/i.test(l))).toContain('dist/main.js');
  });
});

describe('docker-compose.yml', () => {
  type Service = {
    healthcheck?: { test?: unknown };
    depends_on?: Record<string, { condition?: string }>;
    environment?: Record<string, string>;
    volumes?: string[];
    env_file?: unknown;
  };
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };

  it('has api, postgres and redis, each with a health check', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'postgres', 'redis']);
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.healthcheck?.test, name).toBeDefined();
    }
  });

  it('starts the api only once its dependencies are healthy', () => {
    expect(compose.services.api.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
  });

  it('configures the api for PostgreSQL and Redis, with a valid configuration', () => {
    const env = compose.services.api.environment ?? {};
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//);
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [
        k,
        String(v).replace(/\$\{(\w+)(?::?[-?][^}]*)?\}/g, (_m, name: string) =>
          name === 'POSTGRES_PASSWORD' ? 'pw' : name === 'POSTGRES_USER' ? 'usage' : 'db',
        ),
      ]),
    );
    // The compose file alone must pass the boot validation once .env supplies a credential.
    expect(() => loadConfig({ ...resolved, API_KEYS: 'k'.repeat(16) })).not.toThrow();
  });

  it('keeps data in named volumes and secrets out of the file', () => {
    const named = Object.keys(compose.volumes);
    for (const [name, service] of Object.entries(compose.services)) {
      const mounts = (service.volumes ?? []).map((v) => v.split(':')[0]);
      const dataMounts = mounts.filter(
        (m) => !m.startsWith('${') && !m.startsWith('.') && !m.startsWith('/'),
      );
      expect(dataMounts.length, name).toBeGreaterThan(0);
      for (const m of dataMounts) expect(named).toContain(m);
    }
    expect(compose.services.api.env_file).toBeDefined();
    for (const service of Object.values(compose.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/PASSWORD|SECRET|API_KEYS/.test(key)) expect(String(value), key).toMatch(/^\$\{\w+/);
      }
    }
    // A credential inside a URL must be an interpolated variable too.
    const dbUrl = compose.services.api.environment?.DATABASE_URL ?? '';
    expect(/^postgres:\/\/(?:\$\{[^}]*\}|[^:]+):(.+)@/.exec(dbUrl)?.[1]).toMatch(
      /^\$\{POSTGRES_PASSWORD/,
    );
  });
});

describe('.env.example', () => {
  it('parses into a valid configuration and leaves secrets empty', () => {
    const env = Object.fromEntries(
      read('.env.example')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(() => loadConfig(env)).not.toThrow();
    for (const secret of [
      'AUTH_JWT_SECRET',
      'API_KEYS',
      'GITHUB_WEBHOOK_SECRET',
      'POSTGRES_PASSWORD',
    ]) {
      expect(env[secret], secret).toBe('');
    }
  });
});
