import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, type TestDatabase } from './support/databases';
import { copyLines, dockerStages, type Stage } from './support/dockerfile';
import { serviceUrl } from './support/services';
import { writeUsageLog } from './support/usage-logs';
import { freePort, waitFor } from './support/wait';

/**
 * No Docker engine runs here, so this assembles what the image's final stage would hold, exactly
 * as its COPY lines name it (the build stage's output, the production-only install, and files of
 * the build context), and boots it as the image and the compose file do: `node dist/main.js` on
 * 0.0.0.0 with a credential, the compose environment (PostgreSQL and Redis when the suite has
 * them), a Claude folder it must only read and a data folder it may write. A file the image
 * forgets fails here, not for a user.
 */
const ROOT = join(__dirname, '..');
const API_KEY = 'image-test-key-0123456789';
const stages = dockerStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const final = stages.at(-1) as Stage;
const stageNamed = (name: string) => stages.find((s) => s.name === name) as Stage;

/** Every file under `dir`, relative to it, except those under `skip`. */
function listing(dir: string, skip: string[] = []): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((p) => String(p))
    .filter((p) => !skip.some((s) => p === s || p.startsWith(`${s}/`)))
    .sort();
}

/** Runs a stage the final one copies from: the production install or the TypeScript build. */
function runStage(stage: Stage, workdir: string): void {
  mkdirSync(workdir, { recursive: true });
  for (const copy of copyLines(stage)) {
    expect(copy.from, `${stage.name} copies from the build context`).toBeUndefined();
    for (const source of copy.sources) {
      const target = copy.target.endsWith('/')
        ? join(workdir, copy.target, source)
        : join(workdir, copy.target);
      cpSync(join(ROOT, source), target, { recursive: true });
    }
  }
  const run = stage.lines.filter((l) => /^RUN\s/i.test(l)).join('\n');
  if (/npm ci --omit=dev/.test(run)) {
    // The production install. Its one native addon is taken from the dev install (same Node,
    // same platform) instead of compiling better-sqlite3 again for 90 s.
    execFileSync(
      'npm',
      ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
      {
        cwd: workdir,
        stdio: 'ignore',
      },
    );
    cpSync(
      join(ROOT, 'node_modules', 'better-sqlite3', 'build'),
      join(workdir, 'node_modules', 'better-sqlite3', 'build'),
      { recursive: true },
    );
  } else if (/npm run build/.test(run)) {
    symlinkSync(join(ROOT, 'node_modules'), join(workdir, 'node_modules'));
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: workdir, stdio: 'ignore' });
  } else {
    throw new Error(`no recipe for the stage ${stage.name}: ${run}`);
  }
}

/** The final stage's files, COPY by COPY, into `app`. */
function assembleImage(work: string, app: string): void {
  const built = new Map<string, string>();
  for (const copy of copyLines(final)) {
    for (const source of copy.sources) {
      let origin: string;
      if (copy.from) {
        const stageDir = built.get(copy.from) ?? join(work, `stage-${copy.from}`);
        if (!built.has(copy.from)) {
          runStage(stageNamed(copy.from), stageDir);
          built.set(copy.from, stageDir);
        }
        origin = join(stageDir, relative('/app', source));
      } else {
        origin = join(ROOT, source);
      }
      const target = copy.target.endsWith('/')
        ? join(app, copy.target, source.split('/').at(-1) as string)
        : join(app, copy.target);
      cpSync(origin, target, { recursive: true, dereference: true });
    }
  }
}

/** The image's ENV and the compose file's api environment, services pointed at this machine's. */
function imageEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of final.lines.filter((l) => /^ENV\s/i.test(l))) {
    for (const [, key, value] of line.matchAll(/(\w+)=(\S+)/g)) env[key] = value;
  }
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: { api: { environment: Record<string, string | number> } };
  };
  for (const [key, value] of Object.entries(compose.services.api.environment))
    env[key] = String(value);
  return env;
}

describe('the container image, assembled from its COPY lines and booted as compose runs it', () => {
  let work: string;
  let app: string;
  let claude: string;
  let gateway: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let url: string;
  let db: TestDatabase | undefined;
  let claudeBefore: string[];
  let appBefore: string[];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'ug-image-'));
    app = join(work, 'app');
    mkdirSync(app);
    assembleImage(work, app);
    mkdirSync(join(app, 'data'));
    appBefore = listing(app);

    // Claude Code's logs, mounted read-only at /claude by the compose file.
    claude = join(work, 'claude');
    writeUsageLog(claude, {
      start: Date.now() - 2 * 3_600_000,
      count: 20,
      everyMs: 60_000,
      usage: () => ({ input_tokens: 10, output_tokens: 90 }),
    });
    claudeBefore = listing(claude);

    const env = imageEnvironment();
    const port = await freePort();
    const pg = serviceUrl('TEST_DATABASE_URL');
    const redis = serviceUrl('TEST_REDIS_URL');
    if (process.env.CI === 'true' && (!pg || !redis))
      throw new Error('CI needs TEST_DATABASE_URL and TEST_REDIS_URL');
    if (pg) {
      db = await createPostgresDatabase(pg);
      env.DATABASE_URL = db.env.DATABASE_URL;
    } else delete env.DATABASE_URL;
    if (redis) env.REDIS_URL = redis;
    else delete env.REDIS_URL;

    gateway = spawn(process.execPath, ['dist/main.js'], {
      cwd: app,
      env: {
        ...env,
        PATH: '/usr/local/bin:/usr/bin:/bin', // the image's python3 is the system one
        HOME: join(work, 'home'),
        PORT: String(port),
        BRIDGE_PORT: String(await freePort()),
        CLAUDE_CONFIG_DIR: claude,
        API_KEYS: API_KEY,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    gateway.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    exited = new Promise((resolve) => gateway?.once('exit', (code) => resolve(code)));
    url = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (gateway?.exitCode !== null) throw new Error(`the image's gateway exited: ${stderr}`);
        return (await fetch(`${url}/health/ready`).catch(() => undefined))?.ok || undefined;
      },
      60_000,
      'the gateway of the image to be ready',
    );
  }, 240_000);

  afterAll(async () => {
    if (gateway && gateway.exitCode === null) {
      gateway.kill('SIGKILL');
      await exited;
    }
    await db?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const headers = { 'x-api-key': API_KEY };

  it('listens on every address and asks a credential of every /api route', async () => {
    expect((await fetch(`${url}/api/events`)).status).toBe(401);
    expect((await fetch(`${url}/api/events`, { headers })).status).toBe(200);
  });

  it('serves the dashboard at / (no credential needed to load the page) under a strict CSP', async () => {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    // Served over plain http on the network: nothing may be upgraded to https.
    expect(page.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
  });

  it('serves usage read by the spawned bridge from the read-only Claude folder', async () => {
    const stats = await waitFor(
      async () => {
        const res = await fetch(`${url}/api/usage/stats`, { headers });
        return res.headers.get('x-data-source') === 'bridge' ? res.json() : undefined;
      },
      30_000,
      'usage from the bridge',
    );
    expect(stats).toMatchObject({ totals: { tokens: 2000, messages: 20 } });
  });

  it('stores a hook event and lists it', async () => {
    const posted = await fetch(`${url}/api/events`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        source_app: 'shop',
        session_id: 's-1',
        hook_event_type: 'Stop',
        payload: {},
      }),
    });
    expect(posted.status).toBe(201);
    const { id } = (await posted.json()) as { id: number };
    const { events } = (await (await fetch(`${url}/api/events?limit=5`, { headers })).json()) as {
      events: Array<{ id: number }>;
    };
    expect(events.map((e) => e.id)).toContain(id);
  });

  it('stops on SIGTERM with exit 0, having written only under data/ and nothing in the Claude folder', async () => {
    gateway?.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(listing(app, ['data'])).toEqual(appBefore.filter((p) => p !== 'data'));
    expect(listing(join(app, 'data')).length).toBeGreaterThan(0);
    expect(listing(claude)).toEqual(claudeBefore);
  });
});
