import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeStatusDto } from '../src/bridge/dto/bridge-status.dto';
import type { StatuslineDto } from '../src/usage/dto/statusline.dto';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { startAppWithBridge, type RunningApp } from './support/test-app';
import { writeUsageLog } from './support/usage-logs';
import { runStatusline } from './support/statusline';
import { waitFor } from './support/wait';

/** What Claude Code pipes into a status line command (its docs: statusLine). */
const claudeInput = (sessionId: string, dir: string) => ({
  hook_event_name: 'Status',
  session_id: sessionId,
  transcript_path: join(dir, 'claude', 'projects', 'shop', `${sessionId}.jsonl`),
  cwd: join(dir, 'work'),
  model: { id: 'claude-sonnet-4-5-20250929', display_name: 'Sonnet 4.5' },
  workspace: { current_dir: join(dir, 'work'), project_dir: join(dir, 'work') },
  version: '2.0.30',
  output_style: { name: 'default' },
  cost: { total_cost_usd: 0.5, total_duration_ms: 1000, total_api_duration_ms: 800 },
});

const money = (n: number) => `$${n.toFixed(2)}`;

describe('usage-gateway-hook statusline against a real gateway and bridge', () => {
  let dir: string;
  let db: TestDatabase;
  let app: RunningApp;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-statusline-'));
    // An active block: 30 lines over the last hour, in session s-1 (its file s-1.jsonl) — all of
    // them today (UTC): in the first hour of a day, over what has passed of it.
    const now = Date.now();
    const start = Math.max(now - 60 * 60_000, now - (now % 86_400_000));
    writeUsageLog(join(dir, 'claude'), {
      start,
      count: 30,
      everyMs: Math.max(1, Math.floor((now - start) / 31)),
      usage: (i) => ({ input_tokens: 200 + i, output_tokens: 900, cache_read_input_tokens: 5000 }),
    });
    db = createSqliteDatabase();
    app = await startAppWithBridge(dir, db.env);
    env = { USAGE_GATEWAY_URL: app.url, USAGE_GATEWAY_SPOOL_DIR: join(dir, 'spool'), HOME: dir };
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints model, session, today, block with time left, burn rate and % of the limit — each the API’s figure', async () => {
    const input = claudeInput('s-1', dir);
    // The first call warms the gateway's cache; a status line is asked for again and again.
    const { line, code } = await waitFor(
      async () => {
        const result = await runStatusline(input, { ...env, NO_COLOR: '1' });
        return result.line.includes('session') ? result : undefined;
      },
      10_000,
      'a fresh status line',
    );
    expect(code).toBe(0);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trim().split('\n')).toHaveLength(1);
    expect(line).not.toContain('\x1b[');

    const figures = (await (
      await fetch(`${app.url}/api/usage/statusline?session_id=s-1`)
    ).json()) as StatuslineDto;
    // Each figure is what the rest of the API says.
    const stats = (await (await fetch(`${app.url}/api/usage/stats`)).json()) as {
      current_session: { cost_usd: number };
      totals: { token_percentage: number };
      burn_rate: { cost_per_hour: number };
      config_applied: { plan: string };
    };
    const daily = (await (
      await fetch(
        `${app.url}/api/usage/reports/daily?since=${figures.today.date}&until=${figures.today.date}`,
      )
    ).json()) as { daily: { cost_usd: number }[] };
    const bridgeUrl = (
      (await (await fetch(`${app.url}/api/usage/bridge/status`)).json()) as BridgeStatusDto
    ).url as string;
    const session = (await (
      await fetch(`${bridgeUrl}/usage/claude-session?session_id=s-1`)
    ).json()) as { cost_usd: number; found: boolean };
    expect(session.found).toBe(true);
    expect(figures.session?.cost_usd).toBe(session.cost_usd);
    expect(figures.today.cost_usd).toBe(daily.daily[0].cost_usd);
    expect(figures.block?.cost_usd).toBe(stats.current_session.cost_usd);
    expect(figures.limit.percentage).toBe(stats.totals.token_percentage);
    expect(figures.burn_rate?.cost_per_hour).toBe(stats.burn_rate.cost_per_hour);
    expect(figures.block!.minutes_left).toBeGreaterThan(0);
    // All 30 lines are today's and this session's.
    expect(figures.today.cost_usd).toBeCloseTo(session.cost_usd, 9);

    const parts = line.trim().split(' · ');
    expect(parts[0]).toBe('Sonnet 4.5');
    expect(parts[1]).toBe(`${money(figures.session!.cost_usd)} session`);
    expect(parts[2]).toBe(`${money(figures.today.cost_usd)} today`);
    expect(parts[3]).toMatch(
      new RegExp(`^\\${money(figures.block!.cost_usd)} block \\((\\d+h )?\\d+m left\\)$`),
    );
    expect(parts[4]).toBe(`${money(figures.burn_rate!.cost_per_hour)}/h`);
    // No official figures (the input has no rate_limits): the plan estimate, marked `~`.
    expect(figures.official).toEqual({ five_hour: null, seven_day: null });
    expect(parts[5]).toBe(
      `~${Math.round(figures.limit.percentage)}% of ${stats.config_applied.plan}`,
    );

    // A message arrives (a line appended to the session's log): the very next call counts it.
    appendFileSync(
      join(dir, 'claude', 'projects', 'shop', 's-1.jsonl'),
      JSON.stringify({
        type: 'assistant',
        timestamp: new Date().toISOString(),
        requestId: 'req_new',
        message: {
          id: 'msg_new',
          model: 'claude-sonnet-4-5-20250929',
          usage: { input_tokens: 10, output_tokens: 100_000 },
        },
      }) + '\n',
    );
    const next = (await runStatusline(input, { ...env, NO_COLOR: '1' })).line.trim().split(' · ');
    const added = 100_000 * 15e-6 + 10 * 3e-6; // Sonnet 4.5: $15 / $3 per million (below 200k)
    expect(next[1]).toBe(`${money(figures.session!.cost_usd + added)} session`);
    expect(next[3]).toMatch(new RegExp(`^\\${money(figures.block!.cost_usd + added)} block`));

    // Colours: FORCE_COLOR through a pipe, never with NO_COLOR.
    const coloured = await runStatusline(input, { ...env, FORCE_COLOR: '1' });
    expect(coloured.line).toContain('\x1b[');
    const plain = await runStatusline(input, { ...env, FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(plain.line).not.toContain('\x1b[');
  });

  it('prints the last line with its age when the gateway hangs or is gone, and "offline" when it never answered', async () => {
    const input = claudeInput('s-1', dir);
    const fresh = (await runStatusline(input, { ...env, NO_COLOR: '1' })).line.trim();
    expect(fresh).toContain('session');
    // A gateway that accepts connections and never answers: the deadline, not the socket, ends it.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const hung = await runStatusline(
        input,
        { ...env, NO_COLOR: '1', USAGE_GATEWAY_URL: url },
        { deadline: 'default' },
      );
      expect(hung.code).toBe(0);
      expect(hung.line.trim()).toMatch(
        new RegExp(`^${fresh.replace(/[$()]/g, '\\$&')} · stale \\d+s$`),
      );
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
    // Nothing listens: the same stale line; another session's state falls back to the newest.
    const gone = await runStatusline(claudeInput('s-2', dir), {
      ...env,
      NO_COLOR: '1',
      USAGE_GATEWAY_URL: 'http://127.0.0.1:1',
    });
    expect(gone.line).toContain('· stale ');
    // A line kept in colour comes back plain under NO_COLOR.
    const colouredNow = await runStatusline(input, { ...env, FORCE_COLOR: '1' });
    expect(colouredNow.line).toContain('\x1b[');
    const staleAndPlain = await runStatusline(input, {
      ...env,
      NO_COLOR: '1',
      USAGE_GATEWAY_URL: 'http://127.0.0.1:1',
    });
    expect(staleAndPlain.line).toContain('· stale ');
    expect(staleAndPlain.line).not.toContain('\x1b[');
    const never = await runStatusline(input, {
      NO_COLOR: '1',
      USAGE_GATEWAY_URL: 'http://127.0.0.1:1',
      USAGE_GATEWAY_SPOOL_DIR: join(dir, 'elsewhere'),
    });
    expect(never.line).toBe('usage-gateway offline\n');
  });

  it('uses an API key when the gateway wants one, and says so when it is refused', async () => {
    const key = 'statusline-test-key-0123456789';
    const guardedDb = createSqliteDatabase();
    const guarded = await startAppWithBridge(dir, {
      ...guardedDb.env,
      API_KEYS: key,
      BRIDGE_STATE_DIR: join(dir, 'state-guarded'),
    });
    try {
      const input = claudeInput('s-1', dir);
      const base = { ...env, NO_COLOR: '1', USAGE_GATEWAY_URL: guarded.url };
      const ok = await waitFor(
        async () => {
          const result = await runStatusline(input, { ...base, USAGE_GATEWAY_API_KEY: key });
          return result.line.includes('session') && !result.line.includes('stale')
            ? result
            : undefined;
        },
        15_000,
        'a status line through the API key',
      );
      expect(ok.line).toMatch(/^Sonnet 4\.5 · \$/);
      const refused = await runStatusline(input, {
        ...base,
        USAGE_GATEWAY_API_KEY: 'wrong-key-0123456789',
      });
      expect(refused.line).toContain('credential refused');
    } finally {
      await guarded.close();
      await guardedDb.drop();
    }
  });
});
