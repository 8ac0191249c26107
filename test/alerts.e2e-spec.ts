import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AlertDto } from '../src/alerts/dto/alert.dto';
import { AlertsService } from '../src/alerts/alerts.service';
import { AlertWebhooks } from '../src/alerts/alert-webhooks';
import type { BridgeStatusDto } from '../src/bridge/dto/bridge-status.dto';
import { createSqliteDatabase, type TestDatabase } from './support/databases';
import { connected, connectSocket } from './support/socket-client';
import { startAppWithBridge, type RunningApp } from './support/test-app';
import { isAlive, waitFor } from './support/wait';
import { WebhookReceiver } from './support/webhook-receiver';

/**
 * Claude Code lines in session s-1 of project shop: `tokens` input+output tokens in lines of
 * 1,900, the first one `minutesAgo` ago (an active block; pro's limit is 19,000 per block).
 */
function addUsage(claudeDir: string, tokens: number, from: number) {
  mkdirSync(join(claudeDir, 'projects', 'shop'), { recursive: true });
  const file = join(claudeDir, 'projects', 'shop', 's-1.jsonl');
  let lines = '';
  for (let i = 0; i * 1900 < tokens; i++) {
    const n = from + i;
    lines +=
      JSON.stringify({
        type: 'assistant',
        timestamp: new Date(Date.now() - 40 * 60_000 + n * 1000).toISOString(),
        requestId: `req_${n}`,
        message: {
          id: `msg_${n}`,
          model: 'claude-sonnet-4-5-20250929',
          usage: { input_tokens: 100, output_tokens: 1800 },
        },
      }) + '\n';
  }
  appendFileSync(file, lines);
  return from + Math.ceil(tokens / 1900);
}

async function startGateway(db: TestDatabase, dir: string, env: Record<string, string>) {
  return startAppWithBridge(dir, {
    ...db.env,
    ALERT_CHECK_INTERVAL_MS: '1000',
    // The predicted-limit alert is another test's: never within a minute here.
    ALERT_LIMIT_LEAD_MIN: '1',
    ...env,
  });
}

/** Every check the app would run by itself, now, and every webhook it started, delivered. */
async function settle(app: RunningApp) {
  await app.app.get(AlertsService).check();
  await app.app.get(AlertWebhooks).settled();
}

describe('alerts', () => {
  let dir: string;
  let db: TestDatabase;
  const receiver = new WebhookReceiver();
  let url: string;
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    url = await receiver.start();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close().catch(() => undefined);
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    receiver.alerts.length = 0;
    receiver.keys.length = 0;
    receiver.answer = (res) => res.writeHead(204).end();
  });
  afterAll(() => receiver.stop());

  const fresh = () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-alerts-'));
    db = createSqliteDatabase();
    return addUsage(join(dir, 'claude'), 5000, 0);
  };

  it('sends one webhook per threshold crossed (50, 80, 95 %), stores it and tells dashboards', async () => {
    let next = fresh();
    const app = await startGateway(db, dir, { ALERT_WEBHOOK_URLS: url });
    apps.push(app);
    const socket = connectSocket(app.url);
    await connected(socket);
    // Live once `initial` is there: alerts raised before (a limit predicted at boot, depending on
    // where in the hour the lines fall) are in the store, not on this socket.
    await socket.next('initial');
    await settle(app);
    expect(receiver.thresholds()).toEqual([]);
    const beforeLive = new Set(receiver.alerts.map((a) => a.id));

    for (const [total, expected] of [
      [11_000, [50]],
      [16_000, [50, 80]],
      [18_500, [50, 80, 95]],
    ] as const) {
      next = addUsage(join(dir, 'claude'), total - next * 1900, next);
      await waitFor(
        async () => {
          await settle(app);
          return receiver.thresholds().length === expected.length || undefined;
        },
        10_000,
        `the ${expected.at(-1)} % alert`,
      );
      // Checked again and again (timer, stats reads, here by hand): nothing is sent twice.
      for (let i = 0; i < 3; i++) await settle(app);
      await fetch(`${app.url}/api/usage/stats`);
      await settle(app);
      expect(
        receiver.thresholds(),
        JSON.stringify(receiver.alerts.map((a) => [a.id, a.key])),
      ).toEqual(expected);
    }
    const thresholds = receiver.alerts.filter((a) => a.type === 'limit_threshold');
    const [first] = thresholds;
    expect(first).toMatchObject({ type: 'limit_threshold', severity: 'info' });
    expect(first.text).toMatch(/50% of the pro plan's limit|reached \d+(\.\d+)?% of the pro plan/);
    expect(typeof first.timestamp).toBe('number');
    const severities = thresholds.map((a) => a.severity);
    expect(severities).toEqual(['info', 'warning', 'critical']);

    const stored = (await (await fetch(`${app.url}/api/alerts`)).json()) as {
      alerts: AlertDto[];
    };
    // Newest first; the same alerts as the webhooks got (a predicted limit among them, maybe).
    const storedThresholds = stored.alerts.filter((a) => a.type === 'limit_threshold');
    expect(storedThresholds.map((a) => a.data.threshold)).toEqual([95, 80, 50]);
    expect(stored.alerts.map((a) => a.id)).toEqual(receiver.alerts.map((a) => a.id).reverse());
    const newer = (await (
      await fetch(`${app.url}/api/alerts?after_id=${storedThresholds[1].id}`)
    ).json()) as { alerts: AlertDto[] };
    // With a cursor: the next ones after it, oldest first (a poller pages forward).
    expect(newer.alerts.map((a) => a.id)).toEqual(
      stored.alerts
        .filter((a) => a.id > storedThresholds[1].id)
        .map((a) => a.id)
        .reverse(),
    );
    const firstPage = (await (await fetch(`${app.url}/api/alerts?after_id=0&limit=1`)).json()) as {
      alerts: AlertDto[];
    };
    expect(firstPage.alerts.map((a) => a.id)).toEqual([
      Math.min(...stored.alerts.map((a) => a.id)),
    ]);
    const sentSince = receiver.alerts.filter((a) => !beforeLive.has(a.id)).map((a) => a.id);
    await waitFor(
      () => {
        const onSocket = new Set(
          socket.received
            .filter((r) => r.event === 'alert')
            .map((r) => (r.message.data as AlertDto).id),
        );
        return sentSince.every((id) => onSocket.has(id)) || undefined;
      },
      5000,
      'an alert event for each alert raised while the dashboard was live',
    );
    expect(sentSince.length).toBeGreaterThanOrEqual(3);
    socket.close();
  }, 60_000);

  it('sends each alert once with two instances, and not again after a restart', async () => {
    const next = fresh();
    addUsage(join(dir, 'claude'), 10_000, next); // 17,100 of 19,000: past 50 and 80 %
    const env = { ALERT_WEBHOOK_URLS: url };
    const a = await startGateway(db, dir, env);
    apps.push(a);
    const b = await startGateway(db, dir, { ...env, DB_MIGRATIONS_RUN: 'false' });
    apps.push(b);
    await waitFor(
      async () => {
        await Promise.all([settle(a), settle(b)]);
        return receiver.thresholds().length >= 1 || undefined;
      },
      10_000,
      'the 80 % alert',
    );
    for (let i = 0; i < 3; i++) await Promise.all([settle(a), settle(b)]);
    // Past 50 and 80 % at the first check: only the highest is announced, once.
    expect(receiver.thresholds()).toEqual([80]);

    // A restarts: the same block, the same thresholds — already sent.
    await a.close();
    apps.splice(apps.indexOf(a), 1);
    const again = await startGateway(db, dir, { ...env, DB_MIGRATIONS_RUN: 'false' });
    apps.push(again);
    for (let i = 0; i < 3; i++) await settle(again);
    expect(receiver.thresholds()).toEqual([80]);
  }, 60_000);

  it('a receiver that fails or hangs slows nothing; a failed delivery is retried with the same Idempotency-Key until ALERT_DELIVERY_MAX_AGE_MS, then counted as expired', async () => {
    fresh();
    addUsage(join(dir, 'claude'), 6000, 100); // 11,000: past 50 %
    const hanging = new WebhookReceiver();
    hanging.answer = () => undefined; // never answers
    const hangingUrl = await hanging.start();
    receiver.answer = (res) => res.writeHead(500).end();
    try {
      const app = await startGateway(db, dir, {
        ALERT_WEBHOOK_URLS: `${url},${hangingUrl}`,
        ALERT_DELIVERY_MAX_AGE_MS: '2500',
      });
      apps.push(app);
      // The check returns while both deliveries are still under way.
      await waitFor(
        async () => {
          await app.app.get(AlertsService).check();
          return hanging.alerts.length > 0 || undefined;
        },
        10_000,
        'the alert reaching the hanging receiver',
      );
      const stats = await fetch(`${app.url}/api/usage/stats`);
      expect(stats.status).toBe(200);
      const alerts = await fetch(`${app.url}/api/alerts`);
      expect(alerts.status).toBe(200);
      // The failing receiver is asked again (1 s, 2 s later) until the alert is 2.5 s old, then
      // the delivery counts as expired (the hanging receiver's attempts time out later).
      const keys = () => [...new Set(receiver.alerts.map((a) => a.key))];
      await waitFor(
        async () => {
          const metrics = await (await fetch(`${app.url}/metrics`)).text();
          const expired = /alert_webhook_deliveries_total\{outcome="expired"\} (\d+)/.exec(metrics);
          return Number(expired?.[1] ?? 0) >= keys().length || undefined;
        },
        20_000,
        'the failed deliveries counted as expired',
      );
      for (const key of keys()) {
        const copies = receiver.alerts.filter((a) => a.key === key);
        expect(copies.length).toBeGreaterThanOrEqual(2);
        // Every copy carries the alert's id as its Idempotency-Key.
        const ids = receiver.alerts.flatMap((a, i) => (a.key === key ? [receiver.keys[i]] : []));
        expect(new Set(ids)).toEqual(new Set([String(copies[0].id)]));
      }
      expect(keys()).toContain(receiver.alerts.find((a) => a.data.threshold === 50)?.key);
    } finally {
      await hanging.stop();
    }
  }, 60_000);

  it('at least once: an alert raised while the receiver is down is delivered after a gateway restart, once it is back', async () => {
    fresh();
    addUsage(join(dir, 'claude'), 6000, 100); // past 50 %
    const down = new WebhookReceiver();
    const downUrl = await down.start();
    await down.stop(); // connection refused from now on
    const env = { ALERT_WEBHOOK_URLS: downUrl };
    const first = await startGateway(db, dir, env);
    apps.push(first);
    await waitFor(
      async () => {
        await settle(first);
        const metrics = await (await fetch(`${first.url}/metrics`)).text();
        return /alert_webhook_deliveries_total\{outcome="retry"\} [1-9]/.test(metrics) || undefined;
      },
      15_000,
      'a failed attempt',
    );
    const raised = (
      (await (await fetch(`${first.url}/api/alerts`)).json()) as { alerts: AlertDto[] }
    ).alerts;
    expect(raised.length).toBeGreaterThan(0);
    await first.close();
    apps.splice(apps.indexOf(first), 1);

    // The receiver comes back on the same address; a new gateway process takes the outbox over.
    const back = new WebhookReceiver();
    const port = new URL(downUrl).port;
    await back.start(Number(port));
    try {
      const second = await startGateway(db, dir, { ...env, DB_MIGRATIONS_RUN: 'false' });
      apps.push(second);
      await waitFor(
        () => raised.every((a) => back.alerts.some((b) => b.id === a.id)) || undefined,
        20_000,
        'every alert delivered after the restart',
      );
      for (const [i, got] of back.alerts.entries()) expect(back.keys[i]).toBe(String(got.id));
    } finally {
      await back.stop();
    }
  }, 60_000);

  it('finishes a delivery in flight at shutdown', async () => {
    fresh();
    addUsage(join(dir, 'claude'), 6000, 100);
    const slow = new WebhookReceiver();
    let answered = 0;
    slow.answer = (res) =>
      setTimeout(() => {
        answered++;
        res.writeHead(204).end();
      }, 1500);
    const slowUrl = await slow.start();
    try {
      const app = await startGateway(db, dir, { ALERT_WEBHOOK_URLS: slowUrl });
      await waitFor(
        async () => {
          await app.app.get(AlertsService).check();
          return slow.alerts.length > 0 || undefined;
        },
        10_000,
        'a delivery under way',
      );
      expect(answered).toBe(0);
      await app.close(); // waits for the attempt, which ends well
      expect(answered).toBe(slow.alerts.length);
    } finally {
      await slow.stop();
    }
  }, 30_000);

  it('announces a failed bridge, and its recovery when it is tried again later', async () => {
    fresh();
    const app = await startGateway(db, dir, {
      ALERT_WEBHOOK_URLS: url,
      BRIDGE_AUTO_RESTART: 'false',
      BRIDGE_FAILED_RETRY_MS: '1000',
    });
    apps.push(app);
    const { pid } = (
      (await (await fetch(`${app.url}/api/usage/bridge/status`)).json()) as BridgeStatusDto
    ).process;
    process.kill(pid as number, 'SIGKILL');
    await waitFor(() => !isAlive(pid as number), 2000, 'bridge gone');
    await waitFor(
      () => receiver.alerts.find((a) => a.type === 'bridge_failed'),
      10_000,
      'the bridge_failed alert',
    );
    expect(receiver.alerts.find((a) => a.type === 'bridge_failed')).toMatchObject({
      severity: 'critical',
      title: 'The usage bridge failed',
    });
    // BRIDGE_FAILED_RETRY_MS later the bridge is started again: it comes up, and that is news.
    const recovered = await waitFor(
      () => receiver.alerts.find((a) => a.type === 'bridge_recovered'),
      15_000,
      'the bridge_recovered alert',
    );
    expect(recovered).toMatchObject({ severity: 'info', title: 'The usage bridge is back' });
    const status = (await (
      await fetch(`${app.url}/api/usage/bridge/status`)
    ).json()) as BridgeStatusDto;
    expect(status.process.state).toBe('ready');
    expect(status.process.pid).not.toBe(pid);
  }, 30_000);
});
