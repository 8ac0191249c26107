import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatMoney, formatPercent, formatTokens } from '../web/src/lib/format';
import {
  type Browser,
  describeInBrowser,
  expectAccessible,
  launchBrowser,
} from './support/browser';
import { Rollout, usage as codexUsage, write } from './support/agent-homes';
import { type GatewayProcess, spawnGateway } from './support/gateway-process';
import { writeUsageLog } from './support/usage-logs';
import { freePort, isAlive, waitFor } from './support/wait';

/** Screenshots are kept as test output (not committed): test-results/dashboard/. */
const SHOTS = join(__dirname, '..', 'test-results', 'dashboard');
const API_KEY = 'dashboard-test-key-0123456789';

/** This machine's first non-loopback IPv4 address (127.0.0.1 when it has none). */
function networkAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

interface Stats {
  current_session: { cost_usd: number } | null;
  totals: { tokens: number; token_percentage: number };
  config_applied: { plan: string; limits: { tokens: number } };
}

describeInBrowser(
  'the dashboard in Chromium, against the built gateway and the real bridge',
  () => {
    let dir: string;
    let port: number;
    let gateway: GatewayProcess;
    let url: string;
    let browser: Browser;
    let page: Page;
    let env: Record<string, string>;

    const start = async (extra: Record<string, string> = {}) => {
      const g = spawnGateway({ ...env, ...extra }, { built: true });
      const at = await g.listening;
      await waitFor(
        async () => {
          const headers = extra.API_KEYS ? { 'x-api-key': API_KEY } : undefined;
          const res = await fetch(`${at}/api/usage/bridge/status`, { headers }).catch(
            () => undefined,
          );
          if (!res?.ok) return undefined;
          return (
            ((await res.json()) as { process: { state: string } }).process.state === 'ready' ||
            undefined
          );
        },
        20_000,
        'the bridge ready',
      );
      return { g, at };
    };
    const stop = async (g: GatewayProcess) => {
      g.child.kill('SIGTERM');
      await g.exited;
    };
    const post = async (body: object, at = url) => {
      const res = await fetch(`${at}/api/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: number }).id;
    };
    const rowIds = async () =>
      page.$$eval('[data-event-id]', (rows) =>
        rows.map((r) => Number(r.getAttribute('data-event-id'))),
      );

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ug-dashboard-'));
      // An active block: 30 lines over the last hour.
      writeUsageLog(join(dir, 'claude'), {
        start: Date.now() - 60 * 60_000,
        count: 30,
        everyMs: 2 * 60_000,
        usage: (i) => ({
          input_tokens: 120 + i,
          output_tokens: 300,
          cache_read_input_tokens: 4000,
        }),
      });
      // Earlier days with the models a hashed colour once painted alike (opus-4-1 and an unknown
      // model; opus-4-5 and haiku-4-5): each must get its own colour in the cost-per-day legend.
      const more = [
        'claude-opus-4-1-20250805',
        'claude-opus-4-5-20251101',
        'claude-haiku-4-5-20251001',
        'claude-mystery-9',
      ];
      mkdirSync(join(dir, 'claude', 'projects', 'bank'), { recursive: true });
      writeFileSync(
        join(dir, 'claude', 'projects', 'bank', 's-2.jsonl'),
        more
          .map((model, i) =>
            JSON.stringify({
              type: 'assistant',
              sessionId: 's-2',
              timestamp: new Date(Date.now() - (2 + i) * 86_400_000).toISOString(),
              requestId: `req_more_${i}`,
              message: {
                id: `msg_more_${i}`,
                model,
                usage: { input_tokens: 1000, output_tokens: 500 },
              },
            }),
          )
          .join('\n') + '\n',
      );
      // Codex beside it, in its default home (~/.codex): the same hour.
      const iso = (ms: number) => new Date(ms).toISOString();
      const rollout = new Rollout(
        '0199c0de-0000-7000-8000-00000000000a',
        iso(Date.now() - 50 * 60_000),
        '/w',
      )
        .turn(iso(Date.now() - 50 * 60_000), 'gpt-5.1-codex')
        .count(iso(Date.now() - 45 * 60_000), codexUsage(400_000, 100_000, 20_000, 5_000))
        .count(iso(Date.now() - 40 * 60_000), codexUsage(300_000, 200_000, 10_000, 0));
      write(join(dir, '.codex', 'sessions', 'rollout-dashboard.jsonl'), rollout.text());
      port = await freePort();
      env = {
        PORT: String(port),
        DB_SQLITE_PATH: join(dir, 'gateway.sqlite'),
        BRIDGE_MODE: 'spawn',
        BRIDGE_PORT: '0',
        BRIDGE_STATE_DIR: join(dir, 'bridge'),
        BRIDGE_RESTART_DELAY_MS: '3000',
        CLAUDE_CONFIG_DIR: join(dir, 'claude'),
        HOME: dir,
      };
      ({ g: gateway, at: url } = await start());
      browser = await launchBrowser();
      page = await browser.context.newPage();
      await page.goto(url);
    });
    afterAll(async () => {
      await browser?.close();
      if (gateway) await stop(gateway);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('shows the current block with the same numbers as GET /api/usage/stats', async () => {
      await page.waitForSelector('[data-test=tokens]');
      const stats = (await (await fetch(`${url}/api/usage/stats`)).json()) as Stats;
      expect(await page.textContent('[data-test=tokens]')).toBe(
        `${formatTokens(stats.totals.tokens)} / ${formatTokens(stats.config_applied.limits.tokens)}`,
      );
      expect(await page.textContent('[data-test=percentage]')).toBe(
        formatPercent(stats.totals.token_percentage),
      );
      expect(await page.textContent('[data-test=cost]')).toBe(
        formatMoney(stats.current_session!.cost_usd),
      );
      await page.waitForSelector('[data-test=live]:has-text("live")');
      await page.waitForSelector(
        '[data-test=source][data-source=bridge], [data-test=source][data-source=cache]',
      );
      // The card and the blocks table count the same tokens (input + output), named so.
      const rowTokens = await page.waitForSelector('tr.active [data-test=row-tokens]');
      expect((await rowTokens.textContent())?.trim()).toBe(formatTokens(stats.totals.tokens));
      expect(await page.textContent('.block .figures')).toContain('in + out tokens');
      expect(await page.textContent('.blocks thead')).toContain('In + out tokens');
    });

    it("shows Claude Code's own 5-hour and weekly gauges with their countdowns once its status line reports them, and how to get them before", async () => {
      const hint = await page.waitForSelector('[data-test=limits-hint]');
      expect(await hint.textContent()).toContain('usage-gateway-hook install --statusline');
      const fiveResets = Math.floor((Date.now() + 2 * 3_600_000 + 30_000) / 1000);
      const sevenResets = Math.floor((Date.now() + 3 * 86_400_000 + 30_000) / 1000);
      const forward = await fetch(`${url}/api/usage/statusline`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          session_id: 's-1',
          rate_limits: {
            five_hour: { used_percentage: 42, resets_at: fiveResets },
            seven_day: { used_percentage: 18, resets_at: sevenResets },
          },
        }),
      });
      expect(forward.status).toBe(200);
      // The `limits` socket event brings the panel up to date without a reload.
      const five = await page.waitForSelector(
        '[data-test=gauge-five_hour] [data-test=official-percent]',
      );
      expect(await five.textContent()).toBe('42 %');
      expect(
        await page.textContent('[data-test=gauge-seven_day] [data-test=official-percent]'),
      ).toBe('18 %');
      expect(await page.textContent('[data-test=gauge-five_hour] [data-test=countdown]')).toMatch(
        /^resets in (2h 0m|1h 59m)$/,
      );
      expect(await page.textContent('[data-test=gauge-seven_day] [data-test=countdown]')).toMatch(
        /^resets in (3d 0h|2d 23h)$/,
      );
      expect(await page.textContent('[data-test=gauge-five_hour] [data-test=ours]')).toContain(
        'ours in this window',
      );
      expect(await page.$('[data-test=limits-hint]')).toBeNull();
      // Codex's own windows beside them, from its rollout's last token count (10 % of each).
      await page.waitForSelector('[data-test=gauge-codex-five_hour] [data-test=official-percent]');
      expect(
        await page.textContent('[data-test=gauge-codex-five_hour] [data-test=official-percent]'),
      ).toBe('10 %');
      expect(await page.textContent('[data-test=gauge-codex-five_hour] .gauge-name')).toBe(
        'Codex 5-hour',
      );
    });

    it('lists the stored alerts (raised before the page opened), and no legend shows a placeholder', async () => {
      // 30 lines of ~420 input + output tokens: past 50 % of pro's 19,000 at boot. The panel
      // shows what is stored (newest first), whether raised before the page opened or since.
      const storedIds = async () =>
        (
          (await (await fetch(`${url}/api/alerts`)).json()) as { alerts: Array<{ id: number }> }
        ).alerts
          .map((a) => a.id)
          .slice(0, 20);
      const shownIds = () =>
        page.$$eval('[data-test=alerts] [data-alert-id]', (rows) =>
          rows.map((r) => Number(r.getAttribute('data-alert-id'))),
        );
      await waitFor(
        async () => {
          const [stored, shown] = [await storedIds(), await shownIds()];
          return (
            (stored.length > 0 && JSON.stringify(stored) === JSON.stringify(shown)) || undefined
          );
        },
        10_000,
        'the alerts panel listing the stored alerts',
      );
      const legends = await page.$$eval('.u-legend', (nodes) => nodes.map((n) => n.textContent));
      expect(legends.length).toBeGreaterThan(0);
      for (const text of legends) expect(text).not.toMatch(/--|—/);
    });

    it('stacks the cost per day by model or by agent, of one agent or all', async () => {
      const legend = async () =>
        (await page.textContent('[aria-labelledby=daily-title] .u-legend')) ?? '';
      await waitFor(
        async () => ((await legend()).includes('gpt-5.1-codex') ? true : undefined),
        10_000,
        'the Codex model in the daily chart',
      );
      expect(await legend()).toContain('sonnet-4-5');
      // One colour per series; short names as the tables show them, the full id on hover.
      const entries = () =>
        page.evaluate<Array<{ label: string; title: string; colour: string }>>(`
          [...document.querySelectorAll('[aria-labelledby=daily-title] .u-legend .u-series')].map((row) => ({
            label: row.querySelector('.u-label')?.textContent?.trim(),
            title: row.title,
            colour: getComputedStyle(row.querySelector('.u-marker')).backgroundColor,
          }))
        `);
      const shown = await waitFor(
        async () => ((await entries()).length === 6 ? entries() : undefined),
        10_000,
        'six models in the daily legend',
      );
      expect(shown.map((e) => [e.label, e.title]).sort()).toEqual([
        ['gpt-5.1-codex', 'gpt-5.1-codex'],
        ['haiku-4-5', 'claude-haiku-4-5-20251001'],
        ['mystery-9', 'claude-mystery-9'],
        ['opus-4-1', 'claude-opus-4-1-20250805'],
        ['opus-4-5', 'claude-opus-4-5-20251101'],
        ['sonnet-4-5', 'claude-sonnet-4-5-20250929'],
      ]);
      expect(new Set(shown.map((e) => e.colour)).size).toBe(6);
      await page.click('[data-test=daily-by-agent]');
      await waitFor(
        async () => ((await legend()).includes('Codex') ? true : undefined),
        5_000,
        'the chart by agent',
      );
      expect(await legend()).toContain('Claude Code');
      expect(await legend()).not.toContain('gpt-5.1-codex');
      await page.click('[data-test=daily-by-model]');
      await page.selectOption('[data-test=daily-agent]', 'codex');
      await waitFor(
        async () => (!(await legend()).includes('sonnet-4-5') ? true : undefined),
        5_000,
        'the chart of Codex alone',
      );
      expect(await legend()).toContain('gpt-5.1-codex');
      await page.selectOption('[data-test=daily-agent]', 'all');
    });

    it('loads without one console error or failed request (favicon included)', async () => {
      const fresh = await browser.context.newPage();
      const problems: string[] = [];
      fresh.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
      fresh.on('pageerror', (e) => problems.push(`page: ${e.message}`));
      fresh.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
      await fresh.goto(url);
      await fresh.waitForSelector('[data-test=tokens]');
      await fresh.waitForSelector('[data-test=live]:has-text("live")');
      const icon = await fetch(`${url}/favicon.svg`);
      expect(icon.status).toBe(200);
      expect(problems).toEqual([]);
      await fresh.close();
    });

    it('shows a posted hook event in the timeline, and its filters narrow the list', async () => {
      const marker = `npm run marker-${Date.now()}`;
      const id = await post({
        hook_event_name: 'PreToolUse',
        session_id: 'dash-1',
        tool_name: 'Bash',
        tool_input: { command: marker },
      });
      await page.waitForSelector(`[data-event-id="${id}"]:has-text("${marker}")`);
      const stop = await post({ hook_event_name: 'Stop', session_id: 'dash-2' });
      await page.waitForSelector(`[data-event-id="${stop}"]`);
      // The filter options are read at load: a reload knows both types.
      await page.reload();
      await page.waitForSelector(`[data-event-id="${stop}"]`);
      await page.selectOption('[data-test=filter-type]', 'Stop');
      await waitFor(
        async () => ((await rowIds()).includes(id) ? undefined : true),
        5000,
        'the filter',
      );
      expect(await rowIds()).toContain(stop);
      await page.selectOption('[data-test=filter-type]', '');
      await page.fill('[data-test=filter-text]', marker);
      await waitFor(
        async () => ((await rowIds()).join() === String(id) ? true : undefined),
        5000,
        'the text filter',
      );
      await page.fill('[data-test=filter-text]', '');
      // A row opens its payload (clicked again if the list was still re-rendering under the
      // first click, as a person would: on a loaded machine the row can be replaced meanwhile).
      await waitFor(
        async () => {
          await page.click(`[data-event-id="${id}"]`);
          const text = await page
            .textContent('[data-test=payload]', { timeout: 2000 })
            .catch(() => null);
          return text?.includes(marker) ? true : undefined;
        },
        30_000,
        'the clicked row’s payload',
      );
    }, 60_000);

    it('says where the numbers come from when the bridge dies, then is live again', async () => {
      const status = (await (await fetch(`${url}/api/usage/bridge/status`)).json()) as {
        process: { pid: number };
      };
      process.kill(status.process.pid, 'SIGKILL');
      await waitFor(() => !isAlive(status.process.pid), 2000, 'the bridge gone');
      await page.waitForSelector('[data-test=bridge][data-state=restarting]', { timeout: 10_000 });
      const badge = await page.waitForSelector('[data-test=source][data-source=snapshot]', {
        timeout: 20_000,
      });
      expect(await badge.textContent()).toMatch(/snapshot, \d+[smhd] old/);
      await page.waitForSelector('[data-test=bridge][data-state=ready]', { timeout: 20_000 });
      await page.waitForSelector(
        '[data-test=source][data-source=bridge], [data-test=source][data-source=cache]',
        {
          timeout: 20_000,
        },
      );
    });

    it('catches up after the gateway restarts: every event once, none missing', async () => {
      const before = await post({
        hook_event_name: 'Notification',
        session_id: 'dash-3',
        message: 'before',
      });
      await page.waitForSelector(`[data-event-id="${before}"]`);
      await stop(gateway);
      await page.waitForSelector('[data-test=live]:not(:has-text("socket: live"))');
      ({ g: gateway, at: url } = await start());
      const after: number[] = [];
      for (let i = 0; i < 3; i++)
        after.push(
          await post({
            hook_event_name: 'Notification',
            session_id: 'dash-3',
            message: `after ${i}`,
          }),
        );
      await waitFor(
        async () => ((await rowIds()).includes(after[2]) ? true : undefined),
        20_000,
        'the events after the restart',
      );
      const ids = await rowIds();
      expect(new Set(ids).size).toBe(ids.length); // no duplicate
      for (const id of [before, ...after]) expect(ids).toContain(id);
    });

    it('keeps the plan chosen across a reload', async () => {
      await page.selectOption('[data-test=plan]', 'max5');
      await page.click('[data-test=save-plan]');
      await waitFor(
        async () => {
          const stats = (await (await fetch(`${url}/api/usage/stats`)).json()) as Stats;
          return stats.config_applied.plan === 'max5' || undefined;
        },
        5000,
        'the plan saved',
      );
      await page.reload();
      await page.waitForSelector('[data-test=tokens]');
      await waitFor(
        async () => ((await page.inputValue('[data-test=plan]')) === 'max5' ? true : undefined),
        5000,
        'max5 shown',
      );
    });

    it('has no serious or critical accessibility violations (axe), light and dark', async () => {
      await expectAccessible(page);
    });

    it('renders at 1440×900 and 375×812, light and dark (screenshots kept as test output)', async () => {
      mkdirSync(SHOTS, { recursive: true });
      for (const [w, h] of [
        [1440, 900],
        [375, 812],
      ]) {
        for (const scheme of ['light', 'dark'] as const) {
          await page.setViewportSize({ width: w, height: h });
          await page.emulateMedia({ colorScheme: scheme });
          await page.waitForSelector('[data-test=tokens]');
          // The cost-per-day legend in this scheme's palette: six models, six colours.
          const colours = await waitFor(
            async () => {
              const found = await page.evaluate<string[]>(`
                [...document.querySelectorAll('[aria-labelledby=daily-title] .u-legend .u-marker')]
                  .map((m) => getComputedStyle(m).backgroundColor)
              `);
              return found.length === 6 ? found : undefined;
            },
            5_000,
            'the daily legend',
          );
          expect(new Set(colours).size, `${w}×${h} ${scheme}`).toBe(6);
          await page
            .locator('section[aria-labelledby=daily-title]')
            .screenshot({ path: join(SHOTS, `daily-legend-${w}-${scheme}.png`) });
          const file = join(SHOTS, `dashboard-${w}x${h}-${scheme}.png`);
          await page.screenshot({ path: file, fullPage: w === 1440 });
          // Nothing sticks out sideways on a phone.
          const overflow = await page.evaluate<number>(
            'document.documentElement.scrollWidth - window.innerWidth',
          );
          expect(overflow, `${w}×${h} ${scheme}`).toBeLessThanOrEqual(0);
          // Model names are whole: one line each, nothing cut.
          const broken = await page.evaluate<string[]>(`
            [...document.querySelectorAll('td.models span')]
              .filter((s) => {
                const line = parseFloat(getComputedStyle(s).lineHeight) || 20;
                return s.scrollWidth > s.clientWidth + 1 || s.getBoundingClientRect().height > line * 1.5;
              })
              .map((s) => s.textContent)
          `);
          expect(broken, `${w}×${h} ${scheme}`).toEqual([]);
        }
      }
    });

    it('on the network (HOST=0.0.0.0 with an API key, plain http), asks for a credential once, refuses a wrong one, and works with the right one', async () => {
      const port = await freePort();
      const guarded = await start({
        HOST: '0.0.0.0',
        PORT: String(port),
        API_KEYS: API_KEY,
        DB_SQLITE_PATH: join(dir, 'guarded.sqlite'),
        BRIDGE_STATE_DIR: join(dir, 'bridge-guarded'),
      });
      const other = (await browser.context.browser()?.newContext()) ?? browser.context;
      const tab = await other.newPage();
      try {
        // As a colleague opens it: by this machine's network address, over http.
        await tab.goto(`http://${networkAddress()}:${port}/`);
        await tab.waitForSelector('[data-test=credential]');
        await tab.fill('[data-test=credential]', 'not-the-key-0123456789');
        await tab.click('[data-test=sign-in]');
        await tab.waitForSelector('[data-test=auth-refused]');
        await tab.fill('[data-test=credential]', API_KEY);
        await tab.click('[data-test=sign-in]');
        await tab.waitForSelector('[data-test=tokens]');
        await tab.waitForSelector('[data-test=live]:has-text("socket: live")');
        expect(await tab.$('[data-test=credential]')).toBeNull();
      } finally {
        await tab.close();
        await stop(guarded.g);
      }
    });
  },
);
