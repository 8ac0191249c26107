import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { LedgerStore } from '../src/team/ledger/ledger.store';
import { expectRollupsMatchEntries } from './support/ledger-rollups';
import { startTestApp, type RunningApp } from './support/test-app';

const KEY = 'team-ledger-admin-key-0123456789';
const DAY = Date.UTC(2026, 10, 20);

interface Entry {
  ts: number;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_creation_tokens: number;
  cache_read_tokens: number;
  session_id: string;
  project_path: string;
  project: string;
  message_id?: string;
  request_id?: string;
  file?: string;
  offset?: number;
  earlier_offsets?: number[];
  sidechain?: boolean;
  speed?: 'fast';
  cost_usd?: number;
}

/** A deterministic entry: `n` fixes its ids, time and counts. */
const entry = (n: number, extra: Partial<Entry> = {}): Entry => ({
  ts: DAY + n * 61_000,
  model: n % 3 ? 'claude-sonnet-4-5-20250929' : 'claude-opus-4-1-20250805',
  input_tokens: 100 + n,
  output_tokens: 1000 + n,
  cache_creation_tokens: 10 * n,
  cache_read_tokens: 5000,
  session_id: '-home-me-shop',
  project_path: 'Unknown Project',
  project: '-home-me-shop',
  message_id: `msg_${n}`,
  request_id: `req_${n}`,
  ...extra,
});
const tokensOf = (e: Entry) =>
  e.input_tokens + e.output_tokens + e.cache_creation_tokens + e.cache_read_tokens;

/**
 * POST /api/usage/entries and the ledger under it (docs/design.md §9): every bad field listed, limits
 * with numbers, gzip bodies, a member writing only as itself, and — on PostgreSQL with two
 * instances taking the same entries at once — each request stored once.
 */
describe.each(databaseKinds())('the team ledger on %s', (kind) => {
  let db: TestDatabase;
  let apps: RunningApp[] = [];
  let alice: string;

  const post = (
    app: RunningApp,
    body: unknown,
    headers: Record<string, string> = { 'x-api-key': KEY },
    encode?: (json: string) => Buffer,
  ) =>
    fetch(`${app.url}/api/usage/entries`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(encode ? { 'content-encoding': 'gzip' } : {}),
        ...headers,
      },
      body: encode ? encode(JSON.stringify(body)) : JSON.stringify(body),
    });
  const monthly = async (query = '') => {
    const res = await fetch(`${apps[0].url}/api/team/usage/reports/monthly?${query}`, {
      headers: { 'x-api-key': KEY },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      monthly: { total_tokens: number; cost_usd: number; member?: string }[];
      totals: { total_tokens: number; cost_usd: number };
    };
  };

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    const env = { ...db.env, API_KEYS: KEY };
    apps = [await startTestApp(env)];
    if (kind === 'postgres') apps.push(await startTestApp(env));
    const res = await fetch(`${apps[0].url}/api/team/members`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alice' }),
    });
    alice = ((await res.json()) as { token: string }).token;
  }, 60_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.drop();
  });

  it('refuses bad entries listing every bad field, and stores nothing of the batch', async () => {
    const res = await post(apps[0], {
      machine: 'laptop',
      member: 'alice',
      entries: [
        entry(1),
        { ...entry(2), input_tokens: -1, model: 'x'.repeat(129) },
        { ...entry(3), ts: Date.now() + 3 * 86_400_000 },
        { ...entry(4), message_id: undefined },
        { ...entry(5), surprise: true },
      ],
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { field: string }[] };
    expect([...new Set(problem.errors.map((e) => e.field))].sort()).toEqual(
      [
        'entries.1.input_tokens',
        'entries.1.model',
        'entries.2.ts',
        'entries.3.file',
        'entries.3.offset',
        'entries.4.surprise',
      ].sort(),
    );
    expect((await monthly()).totals.total_tokens).toBe(0);

    const tooMany = await post(apps[0], {
      machine: 'laptop',
      member: 'alice',
      entries: Array.from({ length: 1001 }, (_, i) => entry(i)),
    });
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(await tooMany.json())).toContain('1000');
  });

  it('takes gzip bodies; a bomb stops at the 1 MiB body limit; other encodings are refused', async () => {
    const batch = { machine: 'laptop', member: 'alice', entries: [entry(1), entry(2)] };
    const ok = await post(apps[0], batch, undefined, (json) => gzipSync(json));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ received: 2, accepted: 2, duplicates: 0, superseded: 0 });

    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(200 * 1024);
    const exploded = await fetch(`${apps[0].url}/api/usage/entries`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(exploded.status).toBe(413);
    const notGzip = await post(apps[0], batch, undefined, (json) => Buffer.from(json));
    expect(notGzip.status).toBe(400);
    const brotli = await post(apps[0], batch, { 'x-api-key': KEY, 'content-encoding': 'br' });
    expect(brotli.status).toBe(415);
  });

  it('a member token writes as itself only', async () => {
    const own = await post(
      apps[0],
      { machine: 'desk', entries: [entry(3)] },
      { authorization: `Bearer ${alice}` },
    );
    expect(own.status).toBe(200);
    const claimed = await post(
      apps[0],
      { machine: 'desk', member: 'bob', entries: [entry(4)] },
      { authorization: `Bearer ${alice}` },
    );
    expect(claimed.status).toBe(403);
    const byMember = await monthly('group_by=member');
    expect(byMember.monthly.map((r) => r.member)).toEqual(['alice']);
  });

  it('counts each request once: resends, synced copies and concurrent pushes to every instance', async () => {
    const before = (await monthly()).totals.total_tokens;
    // 400 requests; every push carries 100 of them, overlapping; each is sent 8 times in all.
    const all = Array.from({ length: 400 }, (_, i) => entry(1000 + i));
    const pushes = [];
    for (let round = 0; round < 8; round++)
      for (let from = 0; from < 400; from += 100) {
        const shift = (round * 37) % 100;
        const slice = [...all.slice(from), ...all.slice(0, from)].slice(shift, shift + 100);
        const app = apps[(round + from / 100) % apps.length];
        pushes.push(
          post(app, { machine: `m${round % 3}`, member: 'alice', entries: slice }, undefined, (j) =>
            gzipSync(j),
          ).then(async (res) => {
            expect(res.status).toBe(200);
            return (await res.json()) as { accepted: number; duplicates: number };
          }),
        );
      }
    const results = await Promise.all(pushes);
    const accepted = results.reduce((sum, r) => sum + r.accepted, 0);
    const expected = all.reduce((sum, e) => sum + tokensOf(e), 0);
    expect(accepted).toBe(400);
    const after = await monthly();
    expect(after.totals.total_tokens - before).toBe(expected);
    expect(results.reduce((sum, r) => sum + r.duplicates, 0)).toBe(32 * 100 - 400);
  }, 60_000);

  it('a line without ids is its own row, keyed by machine, file and offset', async () => {
    const before = (await monthly()).totals.total_tokens;
    const bare = { ...entry(7000), message_id: undefined, request_id: undefined };
    const lines = [
      { ...bare, file: 'p/s.jsonl', offset: 0 },
      { ...bare, file: 'p/s.jsonl', offset: 512 },
    ];
    for (let i = 0; i < 2; i++)
      expect(
        (await post(apps[0], { machine: 'laptop', member: 'alice', entries: lines })).status,
      ).toBe(200);
    // The same line on another machine counts again (as ccusage over both folders does).
    await post(apps[0], { machine: 'desk', member: 'alice', entries: lines.slice(0, 1) });
    expect((await monthly()).totals.total_tokens - before).toBe(3 * tokensOf(bare));
  });

  it('a better line of a request replaces the stored one, once: later pushes, other machines, both instances at once', async () => {
    const before = (await monthly()).totals.total_tokens;
    // 60 streamed messages with a requestId, 20 without one: a partial line (a few output
    // tokens) pushed first from the laptop, as a Stop hook between two content blocks would.
    const streamed = Array.from({ length: 80 }, (_, i) => {
      const n = 8000 + i;
      const plain = i >= 60;
      const billed = entry(n, {
        ...(plain ? { request_id: undefined, file: 'p/s.jsonl', offset: 1000 * n + 500 } : {}),
      });
      const partial = {
        ...billed,
        output_tokens: 3,
        ts: billed.ts - 1500,
        ...(plain ? { offset: 1000 * n } : {}),
      };
      return { partial, billed: plain ? { ...billed, earlier_offsets: [1000 * n] } : billed };
    });
    const laptop = { machine: 'laptop', member: 'alice' };
    const first = await post(apps[0], { ...laptop, entries: streamed.map((s) => s.partial) });
    expect(await first.json()).toMatchObject({ accepted: 80, superseded: 0 });
    // The billed lines: from another machine (a synced folder), in overlapping batches sent to
    // every instance at once, each twice; a partial line sent again loses.
    const billed = streamed.map((s) => s.billed);
    const batches = [billed.slice(0, 50), billed.slice(30), billed.slice(10, 70), billed];
    const results = await Promise.all(
      batches.map(async (entries, i) => {
        const res = await post(apps[i % apps.length], {
          machine: 'desk',
          member: 'alice',
          entries,
        });
        expect(res.status).toBe(200);
        return (await res.json()) as { accepted: number; superseded: number };
      }),
    );
    expect(results.reduce((sum, r) => sum + r.accepted, 0)).toBe(80);
    expect(results.reduce((sum, r) => sum + r.superseded, 0)).toBe(80);
    const late = await post(apps[0], { ...laptop, entries: streamed.map((s) => s.partial) });
    expect(await late.json()).toMatchObject({ accepted: 0, duplicates: 80, superseded: 0 });
    const expected = billed.reduce((sum, e) => sum + tokensOf(e), 0);
    expect((await monthly()).totals.total_tokens - before).toBe(expected);

    // A /btw side-chain replay (another request id, a larger context) stored first gives way to
    // the main chain's line of its message; replayed again, it is not counted.
    const main = entry(9000);
    const replay = {
      ...main,
      request_id: 'req_btw_9000',
      cache_read_tokens: main.cache_read_tokens + 5000,
      sidechain: true,
    };
    expect(await (await post(apps[0], { ...laptop, entries: [replay] })).json()).toMatchObject({
      accepted: 1,
    });
    expect(
      await (await post(apps[apps.length - 1], { ...laptop, entries: [main] })).json(),
    ).toMatchObject({ accepted: 1, superseded: 1 });
    expect(await (await post(apps[0], { ...laptop, entries: [replay] })).json()).toMatchObject({
      accepted: 0,
      duplicates: 1,
    });
    expect((await monthly()).totals.total_tokens - before).toBe(expected + tokensOf(main));
  }, 60_000);

  it('rows stored under earlier rules (a row per line of a message without requestId) become one when its lines are pushed again', async () => {
    const before = (await monthly()).totals.total_tokens;
    // As the ledger stored them before ccusage 20's rules: keyed by machine, file and offset.
    const store = apps[0].app.get(LedgerStore);
    const old = (offset: number, output: number) => ({
      key: `l\u0000alice\u0000laptop\u0000p/old.jsonl\u0000${offset}`,
      legacyKeys: [],
      requestId: null,
      messageId: null,
      sidechain: false,
      source: 'push' as const,
      agent: 'claude' as const,
      member: 'alice',
      machine: 'laptop',
      project: '-home-me-shop',
      sessionId: 'old',
      projectPath: '-home-me-shop',
      claudeSession: 'old',
      model: 'claude-sonnet-4-5-20250929',
      ts: DAY + offset,
      inputTokens: 10,
      outputTokens: output,
      cacheCreationTokens: 0,
      cacheReadTokens: 0,
      reasoningTokens: 0,
      extraTokens: 0,
      costUsd: output / 1e6,
      reportedCostUsd: null,
      attributes: null,
    });
    await store.ingest([old(0, 3), old(100, 5), old(200, 700)], Date.now());
    expect((await monthly()).totals.total_tokens - before).toBe(3 * 10 + 3 + 5 + 700);
    const again = {
      ...entry(9100, { request_id: undefined }),
      message_id: 'msg_old',
      ts: DAY + 200,
      input_tokens: 10,
      output_tokens: 700,
      cache_creation_tokens: 0,
      cache_read_tokens: 0,
      file: 'p/old.jsonl',
      offset: 200,
      earlier_offsets: [0, 100],
    };
    const res = await post(apps[apps.length - 1], {
      machine: 'laptop',
      member: 'alice',
      entries: [again],
    });
    // The billed line's row stays (an equal line arriving loses to the stored one); the partial
    // lines' rows leave.
    expect(await res.json()).toMatchObject({ accepted: 0, duplicates: 1, superseded: 2 });
    expect((await monthly()).totals.total_tokens - before).toBe(10 + 700);
  });

  it('keeps every roll-up equal to the entries it sums, whatever the writers did', async () => {
    await expectRollupsMatchEntries(db);
  });

  it('reads each report from the smallest roll-up that holds it, with the same figures', async () => {
    // Team-wide (team roll-up), by member (member roll-up), by machine (full roll-up): one total.
    const totals = await Promise.all(
      ['', 'group_by=member', 'member=alice', 'group_by=machine', 'group_by=model'].map(
        async (q) => (await monthly(q)).totals,
      ),
    );
    for (const { cost_usd, ...tokens } of totals.slice(1)) {
      const { cost_usd: cost, ...expected } = totals[0];
      expect(tokens).toEqual(expected);
      expect(Math.abs(cost_usd - cost)).toBeLessThan(1e-9);
    }
  });
});
