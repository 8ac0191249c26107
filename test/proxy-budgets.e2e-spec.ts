import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PriceTable } from '../src/team/ledger/price-table';
import { startAnthropicUpstream } from './support/anthropic-upstream';
import {
  createTestDatabase,
  databaseKinds,
  postgresBehindProxy,
  type ProxiedPostgres,
  queryDatabase,
  type TestDatabase,
} from './support/databases';
import { describeWithService } from './support/services';
import { createMembers } from './support/members';
import { TestClock } from './support/test-clock';
import { startTestApp, type RunningApp } from './support/test-app';
import { waitFor } from './support/wait';

const KEY = 'proxy-budget-admin-key-0123456789';
const ORG_KEY = 'sk-ant-org-key-0123456789abcdef';
const MODEL = 'claude-sonnet-4-5-20250929';
const MAX_TOKENS = 4096;
const BUDGET_USD = 0.5;

const body = (n: number) =>
  JSON.stringify({
    model: MODEL,
    max_tokens: MAX_TOKENS,
    stream: n % 2 === 0,
    messages: [{ role: 'user', content: `request ${String(n).padStart(3, '0')}` }],
  });

/**
 * Budgets that stop spend (docs/proxy.md): 50 requests at once, spread over the instances (two on
 * PostgreSQL), against a member's enforced daily budget: spend ends within the budget plus one
 * request's estimate, every refusal is Anthropic's spend-cap shape with `x-should-retry: false`,
 * and nothing stays held once they are done.
 */
describe.each(databaseKinds())('enforced budgets on the proxy on %s', (kind) => {
  let db: TestDatabase;
  let upstream: Awaited<ReturnType<typeof startAnthropicUpstream>>;
  const apps: RunningApp[] = [];
  let bob: string;
  // Any time of day: the apps' clock stands still, so the budget's day cannot turn meanwhile.
  const clock = new TestClock();
  const count = async (from: string) =>
    Number(
      (await queryDatabase<{ n: string | number }>(db, `SELECT COUNT(*) AS n FROM ${from}`))[0].n,
    );
  /** Estimates held by requests running. */
  const held = () => count('proxy_reservations');

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    upstream = await startAnthropicUpstream();
    const env = {
      ...db.env,
      API_KEYS: KEY,
      PROXY_ANTHROPIC_URL: upstream.url,
      PROXY_ANTHROPIC_API_KEY: ORG_KEY,
    };
    apps.push(await startTestApp(env, 0, { clock: clock.now }));
    if (kind === 'postgres') apps.push(await startTestApp(env, 0, { clock: clock.now }));
    const admin = { 'x-api-key': KEY, 'content-type': 'application/json' };
    ({ bob } = await createMembers(apps[0].url, KEY, ['bob']));
    const budget = await fetch(`${apps[0].url}/api/team/budgets`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ member: 'bob', period: 'day', usd: BUDGET_USD, enforce: true }),
    });
    expect(budget.status).toBe(200);
    expect(await budget.json()).toMatchObject({ enforce: true, usd: BUDGET_USD });
  }, 60_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    await upstream?.close();
    await db?.drop();
  });

  it('50 requests at once spend no more than the budget and one estimate; refusals are billing errors', async () => {
    const estimate = PriceTable.load().cost(MODEL, [
      Math.ceil(body(0).length / 4),
      MAX_TOKENS,
      0,
      0,
    ]);
    // 50 streams at once that start and then stay open: each holds its estimate while it runs, so
    // exactly as many are let through as the budget holds estimates — on every instance together.
    const streams = await Promise.all(
      Array.from({ length: 50 }, async (_, n) => {
        const res = await fetch(`${apps[n % apps.length].url}/v1/messages`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${bob}`,
            'content-type': 'application/json',
            'anthropic-version': '2023-06-01',
            'x-test-scenario': 'hang',
          },
          body: body(2 * n),
        });
        return res;
      }),
    );
    const admitted = streams.filter((res) => res.status === 200);
    const refused = streams.filter((res) => res.status !== 200);
    expect(admitted).toHaveLength(Math.floor(BUDGET_USD / estimate));
    for (const res of refused) {
      expect(res.status).toBe(429);
      expect(res.headers.get('x-should-retry')).toBe('false');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await res.json()).toEqual({
        type: 'error',
        error: {
          type: 'billing_error',
          message: expect.stringMatching(
            /^usage-gateway: the budget of \$0\.50 per day for bob is reached .*; it resets at \d{4}-\d{2}-\d{2} 00:00 UTC$/,
          ),
        },
      });
    }
    // The caller goes away: what each saw is recorded (cut) and its hold released.
    for (const res of admitted) await res.body!.cancel();
    await waitFor(async () => (await held()) === 0, 10_000, 'the cut streams’ holds released');
    // What the burst left of the budget is spent one request at a time, until it is refused.
    const send = (app: RunningApp, n: number) =>
      fetch(`${app.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': bob, 'content-type': 'application/json' },
        body: body(n),
      });
    let more = 0;
    for (let n = 100; n < 200; n++) {
      const res = await send(apps[n % apps.length], n);
      await res.arrayBuffer();
      if (res.status === 429) break;
      expect(res.status).toBe(200);
      more++;
      // The next admission sees this one's real cost (its hold is released once it is stored).
      await waitFor(async () => (await held()) === 0, 10_000, 'its hold released');
    }
    expect(more).toBeLessThan(100);
    // Every admitted request's usage is in the ledger and nothing is held any more.
    await waitFor(
      async () =>
        (await held()) === 0 &&
        (await count("usage_entries WHERE source = 'proxy'")) === admitted.length + more,
      10_000,
      'every hold released and every admitted request in the ledger',
    );
    const budgets = (await (
      await fetch(`${apps[0].url}/api/team/budgets`, { headers: { 'x-api-key': KEY } })
    ).json()) as { budgets: { member: string; spent_usd: number }[] };
    const spent = budgets.budgets.find((b) => b.member === 'bob')!.spent_usd;
    expect(spent).toBeGreaterThan(BUDGET_USD - estimate);
    expect(spent).toBeLessThanOrEqual(BUDGET_USD + estimate);
    // Reached: the next request is refused at once, on every instance.
    for (const app of apps) expect((await send(app, 1)).status).toBe(429);
  });

  it('another member, under no enforced budget, is not held up', async () => {
    const { carol } = await createMembers(apps[0].url, KEY, ['carol']);
    const answer = await fetch(`${apps[0].url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${carol}`, 'content-type': 'application/json' },
      body: body(3),
    });
    expect(answer.status).toBe(200);
  });
});

/**
 * With the database away, enforced budgets cannot be checked: PROXY_FAIL_CLOSED decides — by
 * default the request goes through, counted in `proxy_budget_unchecked_total`; with it, 503.
 */
describeWithService('TEST_DATABASE_URL', 'enforced budgets with the database away', (serverUrl) => {
  let postgres: ProxiedPostgres;
  let upstream: Awaited<ReturnType<typeof startAnthropicUpstream>>;
  const apps: Record<'open' | 'closed', RunningApp | undefined> = {
    open: undefined,
    closed: undefined,
  };
  let dave: string;

  beforeAll(async () => {
    postgres = await postgresBehindProxy(serverUrl);
    upstream = await startAnthropicUpstream();
    const env = {
      DATABASE_URL: postgres.url,
      API_KEYS: KEY,
      PROXY_ANTHROPIC_URL: upstream.url,
      PROXY_ANTHROPIC_API_KEY: ORG_KEY,
      DB_QUERY_TIMEOUT_MS: '1000',
    };
    apps.open = await startTestApp(env);
    apps.closed = await startTestApp({ ...env, PROXY_FAIL_CLOSED: 'true' });
    const admin = { 'x-api-key': KEY, 'content-type': 'application/json' };
    ({ dave } = await createMembers(apps.open.url, KEY, ['dave']));
    await fetch(`${apps.open.url}/api/team/budgets`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ member: 'dave', period: 'month', usd: 100, enforce: true }),
    });
  }, 60_000);
  afterAll(async () => {
    await postgres?.proxy.start().catch(() => undefined);
    for (const app of Object.values(apps)) await app?.close();
    await upstream?.close();
    await postgres?.drop();
  });

  it('lets requests through and counts them by default, refuses them with PROXY_FAIL_CLOSED', async () => {
    const send = (app: RunningApp) =>
      fetch(`${app.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': dave, 'content-type': 'application/json' },
        body: body(7),
      });
    // Both instances know dave (member tokens are cached) and the budget before the cut.
    for (const app of Object.values(apps)) expect((await send(app!)).status).toBe(200);
    await postgres.proxy.stop();
    const open = await send(apps.open!);
    expect(open.status).toBe(200);
    await open.arrayBuffer();
    const metrics = await (
      await fetch(`${apps.open!.url}/metrics`, { headers: { 'x-api-key': KEY } })
    ).text();
    expect(metrics).toMatch(/^proxy_budget_unchecked_total 1$/m);
    const closed = await send(apps.closed!);
    expect(closed.status).toBe(503);
    expect(closed.headers.get('x-should-retry')).toBe('true');
    expect(await closed.json()).toMatchObject({
      type: 'error',
      error: { type: 'api_error', message: expect.stringMatching(/budgets cannot be checked/) },
    });
    // The database back: the next checked request tells the episode, as one alert.
    await postgres.proxy.start();
    await waitFor(
      async () => {
        const res = await send(apps.open!);
        await res.arrayBuffer();
        return res.status === 200;
      },
      20_000,
      'a request checked again',
    );
    const alert = await waitFor(
      async () => {
        const res = await fetch(`${apps.open!.url}/api/alerts`, { headers: { 'x-api-key': KEY } });
        const list = ((await res.json()) as { alerts: { type: string; data: unknown }[] }).alerts;
        return list.find((a) => a.type === 'budget_unchecked');
      },
      20_000,
      'the budget_unchecked alert',
    );
    expect(alert.data).toMatchObject({ requests: 1 });
  });
});

/**
 * Per-member rates (PROXY_MEMBER_RPM, PROXY_MEMBER_INPUT_TPM): counted in Redis across instances
 * when it is there, per instance otherwise; past one, 429 `rate_limit_error` with `retry-after`.
 */
function memberRates(store: 'memory' | 'redis', redisUrl?: string): void {
  let db: TestDatabase;
  let upstream: Awaited<ReturnType<typeof startAnthropicUpstream>>;
  const apps: RunningApp[] = [];
  let erin: string;
  let frank: string;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    upstream = await startAnthropicUpstream();
    const env = {
      ...db.env,
      API_KEYS: KEY,
      PROXY_ANTHROPIC_URL: upstream.url,
      PROXY_ANTHROPIC_API_KEY: ORG_KEY,
      PROXY_MEMBER_RPM: '5',
      PROXY_MEMBER_INPUT_TPM: '2000',
      ...(store === 'redis' ? { REDIS_URL: redisUrl! } : {}),
    };
    apps.push(await startTestApp(env, 0, { clock: new TestClock().now }));
    // Redis outlives the suite: names of this run's own.
    const run = `${store}-${Date.now()}`;
    const tokens = await createMembers(apps[0].url, KEY, [`erin-${run}`, `frank-${run}`]);
    erin = tokens[`erin-${run}`];
    frank = tokens[`frank-${run}`];
  }, 60_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    await upstream?.close();
    await db?.drop();
  });

  it('lets a member send PROXY_MEMBER_RPM requests a minute, then 429 rate_limit_error', async () => {
    const send = (token: string, text = 'x') =>
      fetch(`${apps[0].url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': token, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: MODEL,
          max_tokens: 8,
          messages: [{ role: 'user', content: text }],
        }),
      });
    for (let i = 0; i < 5; i++) expect((await send(erin)).status).toBe(200);
    const refused = await send(erin);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-should-retry')).toBe('true');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({
      type: 'error',
      error: {
        type: 'rate_limit_error',
        message: expect.stringMatching(
          /limit of 5 requests per minute is reached; try again in \d+ s$/,
        ),
      },
    });
    // Another member counts apart; a request over the token rate is refused on its own size.
    const big = await send(frank, 'y'.repeat(9000));
    expect(big.status).toBe(429);
    expect(((await big.json()) as { error: { message: string } }).error.message).toMatch(
      /input tokens are more than .*limit of 2000 a minute/,
    );
    expect((await send(frank)).status).toBe(200);
  });
}

describe('member rates on the proxy, counted in memory', () => memberRates('memory'));
describeWithService('TEST_REDIS_URL', 'member rates on the proxy, counted in Redis', (url) =>
  memberRates('redis', url),
);
