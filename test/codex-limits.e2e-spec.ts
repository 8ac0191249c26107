import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertWebhooks } from '../src/alerts/alert-webhooks';
import type { LimitsDto, LimitWindowDto } from '../src/limits/dto/limits.dto';
import { LimitsService } from '../src/limits/limits.service';
import { Rollout, usage, write } from './support/agent-homes';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { startAppWithBridge, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';
import { WebhookReceiver } from './support/webhook-receiver';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A Codex token count carrying `rate_limits` as codex-rs writes it (`RateLimitSnapshot`). */
function limitsLine(at: number, five: number, resetsAt: number, old = false): string {
  const window = (used: number, minutes: number, reset: number) => ({
    used_percent: used,
    window_minutes: minutes,
    // Builds around 0.41 wrote the seconds left instead of the time.
    ...(old
      ? { resets_in_seconds: Math.round((reset - at) / 1000) }
      : { resets_at: Math.floor(reset / 1000) }),
  });
  return `${JSON.stringify({
    timestamp: iso(at),
    type: 'event_msg',
    payload: {
      type: 'token_count',
      info: null,
      rate_limits: {
        limit_id: 'codex',
        primary: window(five, 300, resetsAt),
        secondary: window(five / 4, 10080, resetsAt + 3 * 24 * HOUR),
        credits: null,
        plan_type: 'plus',
      },
    },
  })}\n`;
}

/**
 * Codex's official 5-hour and weekly windows, read by the bridge from the rollouts of this
 * machine's `CODEX_HOME`: the latest snapshot across files, shown by `/api/usage/limits` beside our
 * count of Codex's usage in the window, and alerted once per window.
 */
describe("Codex's official limits, from its rollouts", () => {
  let dir: string;
  let db: TestDatabase;
  let app: RunningApp;
  const receiver = new WebhookReceiver();
  const now = Date.now();
  const resets = now + 2 * HOUR;
  let second: string;

  const limits = async () =>
    (await (await fetch(`${app.url}/api/usage/limits`)).json()) as LimitsDto;
  const codex = async (window: string): Promise<LimitWindowDto | undefined> =>
    (await limits()).windows.find((w) => w.agent === 'codex' && w.window === window);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-codex-limits-'));
    const home = join(dir, 'codex');
    // Two rollouts: one with old-form limits and its usage, one with a null snapshot then a
    // later figure (the latest across files counts).
    const first = new Rollout('r-1', iso(now - 3 * HOUR), '/w')
      .turn(iso(now - 3 * HOUR), 'gpt-5.1-codex')
      .count(iso(now - 90 * 60_000), usage(40_000, 10_000, 2_000, 500))
      .raw(limitsLine(now - 89 * 60_000, 30, resets, true).trimEnd());
    write(join(home, 'sessions', 'rollout-1.jsonl'), first.text());
    const other = new Rollout('r-2', iso(now - HOUR), '/w')
      .turn(iso(now - HOUR), 'gpt-5.1-codex')
      .count(iso(now - 50 * 60_000), usage(20_000, 0, 1_000, 0))
      .raw(
        JSON.stringify({
          timestamp: iso(now - 49 * 60_000),
          type: 'event_msg',
          payload: { type: 'token_count', info: null, rate_limits: null },
        }),
      )
      .raw(limitsLine(now - 30 * 60_000, 45, resets).trimEnd());
    second = join(home, 'sessions', 'rollout-2.jsonl');
    write(second, other.text());
    db = createSqliteDatabase();
    app = await startAppWithBridge(dir, {
      ...db.env,
      CODEX_HOME: home,
      ALERT_WEBHOOK_URLS: await receiver.start(),
    });
  });
  afterAll(async () => {
    await app?.close();
    await receiver.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the latest figure of each window with its age and our Codex usage inside it', async () => {
    // Read at start and every 5 s: no call needed.
    const five = await waitFor(
      async () => (await codex('five_hour'))?.official ?? undefined,
      20_000,
      'Codex in the limits',
    );
    expect(five).toMatchObject({
      used_percentage: 45,
      resets_at: iso(Math.floor(resets / 1000) * 1000),
    });
    // Reported 30 minutes ago (the line's time), not when the gateway read it.
    expect(five.age_seconds).toBeGreaterThanOrEqual(30 * 60);
    expect(five.age_seconds).toBeLessThan(40 * 60);
    const window = (await codex('five_hour'))!;
    // Both token counts lie inside the window: uncached input + cached + output.
    expect(window.ours).toMatchObject({ total_tokens: 42_000 + 21_000, entries: 2 });
    expect(window.ours!.models.map((m) => m.model)).toEqual(['gpt-5.1-codex']);
    const weekly = (await codex('seven_day'))!;
    expect(weekly.official?.used_percentage).toBe(11.25);
    // Claude Code's windows are still listed first, unreported.
    expect((await limits()).windows.slice(0, 2).map((w) => [w.agent, w.window, w.missing])).toEqual(
      [
        ['claude', 'five_hour', 'never_seen'],
        ['claude', 'seven_day', 'never_seen'],
      ],
    );
  });

  it('alerts at 80 % once per window, naming Codex; a new window alerts again', async () => {
    const service = app.app.get(LimitsService);
    const alerts = () => receiver.of('official_limit', 80).filter((a) => a.data.agent === 'codex');
    /** Reads the bridge's figures (as the 5 s job does) until the bridge has read the line. */
    const observed = (percent: number) =>
      waitFor(
        async () => {
          await service.observeAgents();
          return (await codex('five_hour'))?.official?.used_percentage === percent || undefined;
        },
        10_000,
        `Codex at ${percent} %`,
      );
    appendFileSync(second, limitsLine(Date.now() - 60_000, 82, resets));
    await observed(82);
    await app.app.get(AlertWebhooks).settled();
    await waitFor(() => (alerts().length === 1 ? true : undefined), 10_000, 'the 80 % alert');
    expect(alerts()[0].title).toBe("80% of Codex's 5-hour limit used");
    // Higher in the same window: no second 80 % alert.
    appendFileSync(second, limitsLine(Date.now() - 30_000, 86, resets));
    await observed(86);
    await app.app.get(AlertWebhooks).settled();
    expect(alerts()).toHaveLength(1);
    // The next window (a new resets_at): its own 80 %.
    appendFileSync(second, limitsLine(Date.now(), 81, resets + 5 * HOUR));
    await observed(81);
    await app.app.get(AlertWebhooks).settled();
    await waitFor(
      () => (alerts().length === 2 ? true : undefined),
      10_000,
      'the next window’s 80 % alert',
    );
  });
});
