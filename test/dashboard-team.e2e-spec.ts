import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatMoney, formatPercent } from '../web/src/lib/format';
import {
  type Browser,
  describeInBrowser,
  expectAccessible,
  launchBrowser,
} from './support/browser';
import { type GatewayProcess, spawnGateway } from './support/gateway-process';
import { freePort, waitFor } from './support/wait';

const SHOTS = join(__dirname, '..', 'test-results', 'dashboard');
const KEY = 'dashboard-team-key-0123456789abc';
const MODELS = ['claude-sonnet-4-5-20250929', 'claude-opus-4-1-20250805'];

interface Member {
  member: string;
  today: { cost_usd: number };
  week: { cost_usd: number };
  month: { cost_usd: number };
}

describeInBrowser('the Team view in Chromium, against the built gateway', () => {
  let dir: string;
  let gateway: GatewayProcess;
  let url: string;
  let browser: Browser;
  const tokens: Record<string, string> = {};

  /** A REST call as the admin, or with `auth` instead. */
  const call = async (path: string, init: RequestInit = {}, auth?: Record<string, string>) => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...(auth ?? { 'x-api-key': KEY }) },
    });
    return (await res.json()) as Record<string, unknown>;
  };
  const signIn = async (page: Page, credential: string) => {
    await page.goto(`${url}/#team`);
    await page.waitForSelector('[data-test=credential]');
    await page.fill('[data-test=credential]', credential);
    await page.click('[data-test=sign-in]');
    await page.waitForSelector('[data-test=team-view] [data-member=alice]');
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-team-view-'));
    const port = await freePort();
    gateway = spawnGateway(
      { PORT: String(port), API_KEYS: KEY, DB_SQLITE_PATH: join(dir, 'gateway.sqlite'), HOME: dir },
      { built: true },
    );
    url = await gateway.listening;
    for (const name of ['alice', 'bob', 'carol'])
      tokens[name] = (
        await call('/api/team/members', { method: 'POST', body: JSON.stringify({ name }) })
      ).token as string;
    // Two weeks of usage for alice and bob, on two machines, both models.
    let n = 0;
    for (const [member, machine, scale] of [
      ['alice', 'laptop', 3],
      ['alice', 'desk', 1],
      ['bob', 'box', 2],
    ] as const) {
      const entries = Array.from({ length: 14 }, (_, day) => ({
        ts: Date.now() - day * 86_400_000 - 3_600_000,
        model: MODELS[day % 2],
        input_tokens: 20_000 * scale * (1 + (day % 3)),
        output_tokens: 4_000 * scale,
        cache_creation_tokens: 0,
        cache_read_tokens: 100_000,
        session_id: `-home-${member}-shop`,
        project_path: 'Unknown Project',
        project: `-home-${member}-shop`,
        message_id: `msg_${++n}`,
        request_id: `req_${n}`,
      }));
      const pushed = await call(
        '/api/usage/entries',
        { method: 'POST', body: JSON.stringify({ machine, entries }) },
        { authorization: `Bearer ${tokens[member]}` },
      );
      expect(pushed.accepted).toBe(14);
    }
    // bob runs Codex too: a week of its events (its reader's key and cost).
    const codex = Array.from({ length: 7 }, (_, day) => ({
      agent: 'codex',
      event_key: `codex-${day}`,
      ts: Date.now() - day * 86_400_000 - 7_200_000,
      model: 'gpt-5.1-codex',
      input_tokens: 50_000,
      output_tokens: 3_000,
      cache_creation_tokens: 0,
      cache_read_tokens: 150_000,
      reasoning_tokens: 1_000,
      cost_usd: 0.1,
      session_id: `2026/12/0${day}/rollout-${day}`,
      project_path: `2026/12/0${day}`,
      project: 'codex',
    }));
    const pushedCodex = await call(
      '/api/usage/entries',
      {
        method: 'POST',
        body: JSON.stringify({
          machine: 'box',
          entries: codex,
          // Codex's official 5-hour window, as bob's rollouts last reported it.
          limits: [
            {
              agent: 'codex',
              window: 'five_hour',
              used_percentage: 64,
              resets_at: Math.floor(Date.now() / 1000) + 7200,
              observed_at: Date.now() - 60_000,
            },
          ],
        }),
      },
      { authorization: `Bearer ${tokens.bob}` },
    );
    expect(pushedCodex.accepted).toBe(7);
    await call(`/api/events`, {
      method: 'POST',
      body: JSON.stringify({ hook_event_name: 'UserPromptSubmit', session_id: 'b', prompt: 'x' }),
    });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    gateway?.child.kill('SIGTERM');
    await gateway?.exited;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows every member with the numbers of GET /api/team/usage, and daily cost by member', async () => {
    const page = await browser.context.newPage();
    await signIn(page, KEY);
    const team = (await call('/api/team/usage')).members as Member[];
    for (const m of team.filter((x) => x.member !== 'carol')) {
      const row = `[data-test=team-view] [data-member=${m.member}]`;
      expect(await page.textContent(`${row} [data-test=today]`)).toBe(
        formatMoney(m.today.cost_usd),
      );
      expect(await page.textContent(`${row} [data-test=week]`)).toBe(formatMoney(m.week.cost_usd));
      expect(await page.textContent(`${row} [data-test=month]`)).toBe(
        formatMoney(m.month.cost_usd),
      );
    }
    expect(await page.textContent('[data-member=alice] .machines')).toBe('desk, laptop');
    expect((await page.textContent('[data-member=bob] [data-test=codex-five-hour]'))?.trim()).toBe(
      formatPercent(64),
    );
    expect(
      (await page.textContent('[data-member=alice] [data-test=codex-five-hour]'))?.trim(),
    ).toBe('—');
    await page.waitForSelector('[data-test=team-view] canvas');
    // A filter narrows the chart's members and the table stays whole.
    await page.selectOption('[data-test=filter-machine]', 'box');
    const legend = () =>
      page.$$eval('.u-legend .u-series', (series) => series.map((e) => e.textContent?.trim()));
    await waitFor(
      async () => ((await legend()).join() === 'bob' ? true : undefined),
      5000,
      'only bob (the machine box) in the chart',
    );
    expect(await page.$$eval('[data-member]', (rows) => rows.length)).toBe(3);
    await expectAccessible(page);
    mkdirSync(SHOTS, { recursive: true });
    await page.selectOption('[data-test=filter-machine]', '');
    await waitFor(
      async () => ((await legend()).sort().join() === 'alice,bob' ? true : undefined),
      5000,
      'both members in the chart again',
    );
    // By agent: the same days stacked by Claude Code and Codex; the agent filter keeps one.
    await page.click('[data-test=team-stack-agent]');
    await waitFor(
      async () => ((await legend()).sort().join() === 'Claude Code,Codex' ? true : undefined),
      5000,
      'the chart by agent',
    );
    await page.selectOption('[data-test=filter-agent]', 'codex');
    await waitFor(
      async () => ((await legend()).join() === 'Codex' ? true : undefined),
      5000,
      'Codex alone',
    );
    await page.selectOption('[data-test=filter-agent]', '');
    await page.click('[data-test=team-stack-member]');
    await waitFor(
      async () => ((await legend()).sort().join() === 'alice,bob' ? true : undefined),
      5000,
      'by member again',
    );
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: join(SHOTS, 'team-1440x900-light.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(SHOTS, 'team-1440x900-dark.png'), fullPage: true });
    await page.setViewportSize({ width: 375, height: 812 });
    await page.screenshot({ path: join(SHOTS, 'team-375x812-dark.png') });
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - window.innerWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.close();
  });

  it('a member token sees the team view and its own events only, with no prompt for more', async () => {
    const page = await browser.context.newPage();
    await call(
      '/api/events',
      {
        method: 'POST',
        body: JSON.stringify({
          hook_event_name: 'UserPromptSubmit',
          session_id: 'a',
          prompt: 'mine',
        }),
      },
      { authorization: `Bearer ${tokens.carol}` },
    );
    await signIn(page, tokens.carol);
    expect(await page.$('[data-test=team-tab]'), 'the tabs').toBeNull();
    expect(await page.$('[data-test=tokens]'), 'the machine view').toBeNull();
    await page.waitForSelector('[data-event-id]');
    const rows = await page.$$eval('[data-event-id]', (r) => r.map((x) => x.textContent ?? ''));
    expect(rows.length).toBe(1);
    // Nothing it may not read was asked for: no refusal re-opened the sign-in prompt.
    expect(await page.$('[data-test=credential]'), 'the prompt').toBeNull();
    await page.close();
  });
});
