/**
 * Team usage at scale (issue: team usage), on PostgreSQL, two gateway instances behind one
 * simulator, with a bare Fastify + node-postgres server measured in the same run as the floor:
 *
 *   npm run bench:team      (builds, then: node -r ./scripts/register-ts.js bench/team/run.ts)
 *
 *   (a) ingest: BENCH_MEMBERS members (default 1000), each sending an OTLP/HTTP protobuf log
 *       export with one `claude_code.api_request` every 6 s (10 a minute) and an OTLP metrics
 *       export every 60 s, and every 10 s 50 concurrent log pushes of 100 lines; requests
 *       alternate between the two instances; 5 % of every kind is sent twice (an exporter's
 *       retry). Client-side latency p50/p99 per kind; then the ledger is counted: lost = sent −
 *       stored, doubled = stored twice. The first BENCH_WARMUP seconds (default 10) run the same
 *       load unmeasured (JIT, connection pools, caches: printed apart), for the floor too; every
 *       request is counted for lost and doubled. BENCH_PUSHERS: pushes per burst (default 50).
 *       Target: ingest p99 <= 50 ms, 0 lost, 0 doubled; both
 *       instances answer the same totals. The floor: the same OTLP log exports to a bare Fastify
 *       route that decodes them and INSERTs the rows (no de-duplication, no roll-ups).
 *   (b) the team daily report over BENCH_ROWS ledger rows (default 3,000,000: the rows of (a),
 *       then generated ones over the last 30 days for the same members, their roll-ups built as
 *       the ledger builds them), asked BENCH_REPORTS times (default 200) on each instance:
 *       p50/p99. Target: p50 <= 50 ms, p99 <= 200 ms. The floor: `SELECT 1` through bare Fastify.
 *       Then daily by member in Europe/Berlin over 7 and 30 days, pages of BENCH_PAGES members
 *       (default 50,100: `limit`) and whole answers, each against the floor of bare Fastify reading
 *       the same day roll-up rows and answering them as JSON, samples alternating.
 *   (c) each instance's RSS after (a) and after (b).
 *
 * BENCH_DATABASE_URL (default TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test):
 * a database `ug_bench_<random>` is created on that server and dropped after. BENCH_SECONDS: the
 * simulated time of (a) (default 60).
 */
import Fastify from 'fastify';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, Pool } from 'pg';
import { type GatewayProcess, spawnGateway } from '../../test/support/gateway-process';
import { freePort } from '../../test/support/wait';
import { OtlpCodec } from '../../src/team/otlp/otlp-codec';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const ROWS = Number(process.env.BENCH_ROWS ?? 3_000_000);
const REPORTS = Number(process.env.BENCH_REPORTS ?? 200);
/** Members per page of a report by member (`limit`), each size measured. */
const PAGES = (process.env.BENCH_PAGES ?? '50,100').split(',').map(Number);
const SERVER =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const KEY = `bench-team-${randomBytes(8).toString('hex')}`;
const MODELS = ['claude-sonnet-4-5-20250929', 'claude-opus-4-1-20250805', 'claude-haiku-4-5'];
const PUSHERS = Number(process.env.BENCH_PUSHERS ?? 50);
const PUSH_LINES = 100;
const REPEAT = 0.05;
/** Seconds of the same load before measuring (JIT, pools, caches), for the floor and the gateways. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
};
const ms = (n: number) => `${n.toFixed(1)} ms`;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

// --- OTLP bodies, binary protobuf as an exporter sends them (encoded with the receiver's own
// message descriptions; test/team-otlp.e2e-spec.ts holds those to the SDK's real exporters) ---
const { root } = new OtlpCodec();
const LogsRequest = root.lookupType('otlp.ExportLogsServiceRequest');
const MetricsRequest = root.lookupType('otlp.ExportMetricsServiceRequest');
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: number) => ({ key, value: { intValue: value } });
const nanos = (at: number) => `${at}000000`;

interface Request {
  id: string;
  tokens: number;
}

function logsBody(member: number, requests: Request[], at: number): Uint8Array {
  const records = requests.map((r, i) => ({
    timeUnixNano: nanos(at),
    body: { stringValue: 'claude_code.api_request' },
    attributes: [
      str('event.name', 'api_request'),
      str('event.timestamp', new Date(at).toISOString()),
      str('session.id', `s-${member}`),
      str('model', MODELS[(member + i) % MODELS.length]),
      int('input_tokens', r.tokens),
      int('output_tokens', 100),
      int('cache_read_tokens', 0),
      int('cache_creation_tokens', 0),
      { key: 'cost_usd', value: { doubleValue: 0.001 } },
      str('request_id', r.id),
    ],
  }));
  return LogsRequest.encode(
    LogsRequest.fromObject({
      resourceLogs: [
        {
          resource: {
            attributes: [str('service.name', 'claude-code'), str('host.name', `m${member}`)],
          },
          scopeLogs: [{ logRecords: records }],
        },
      ],
    }),
  ).finish();
}

function metricsBody(member: number, start: number, at: number): Uint8Array {
  const point = (value: number, type: string) => ({
    startTimeUnixNano: nanos(start),
    timeUnixNano: nanos(at),
    asDouble: value,
    attributes: [str('type', type), str('model', MODELS[member % MODELS.length])],
  });
  return MetricsRequest.encode(
    MetricsRequest.fromObject({
      resourceMetrics: [
        {
          resource: { attributes: [str('service.name', 'claude-code')] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'claude_code.token.usage',
                  sum: {
                    aggregationTemporality: 1,
                    isMonotonic: true,
                    dataPoints: [point(1000, 'input'), point(200, 'output')],
                  },
                },
                {
                  name: 'claude_code.cost.usage',
                  sum: {
                    aggregationTemporality: 1,
                    isMonotonic: true,
                    dataPoints: [point(0.01, 'usd')],
                  },
                },
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
}

// --- The run ---
interface Target {
  readonly url: string;
  readonly headers: (member: number) => Record<string, string>;
}

async function post(url: string, body: Uint8Array | string, headers: Record<string, string>) {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : Buffer.from(body),
    headers,
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `ug_bench_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: SERVER });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** The floor: OTLP log exports decoded and INSERTed by bare Fastify, and `SELECT 1`. */
async function bareServer(databaseUrl: string) {
  const pool = new Pool({ connectionString: databaseUrl, max: 10 });
  await pool.query(
    'CREATE TABLE bare_rows (id serial PRIMARY KEY, request_id text, model text, tokens bigint, ts bigint)',
  );
  const app = Fastify();
  app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_r, body, done) =>
    done(null, body),
  );
  app.post('/v1/logs', async (request) => {
    const decoded = LogsRequest.toObject(LogsRequest.decode(request.body as Buffer), {
      longs: String,
    }) as {
      resourceLogs: {
        scopeLogs: {
          logRecords: { attributes: { key: string; value: Record<string, unknown> }[] }[];
        }[];
      }[];
    };
    const rows = decoded.resourceLogs.flatMap((r) =>
      r.scopeLogs.flatMap((s) =>
        s.logRecords.map((l) => {
          const a = Object.fromEntries(
            l.attributes.map((kv) => [kv.key, Object.values(kv.value)[0]]),
          );
          return [a.request_id, a.model, Number(a.input_tokens), Date.now()];
        }),
      ),
    );
    for (const row of rows)
      await pool.query(
        'INSERT INTO bare_rows (request_id, model, tokens, ts) VALUES ($1, $2, $3, $4)',
        row,
      );
    return {};
  });
  app.get('/report', async () => (await pool.query('SELECT 1 AS one')).rows);
  // The rows a report by member reads (the day roll-up's, two days of margin), as JSON.
  app.get('/member-days', async (request) => {
    const query = request.query as { since: string; members?: string };
    const from = Math.floor(Date.parse(query.since) / 86_400_000) - 2;
    const members = query.members?.split(',');
    return (
      await pool.query(
        `SELECT * FROM usage_member_days WHERE day >= $1${members ? ' AND member = ANY($2)' : ''}`,
        members ? [from, members] : [from],
      )
    ).rows;
  });
  const port = await freePort();
  await app.listen({ port, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => (await app.close(), await pool.end()),
  };
}

async function startGateways(
  databaseUrl: string,
): Promise<{ gateways: GatewayProcess[]; urls: string[] }> {
  const env = (port: number) => ({
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    API_KEYS: KEY,
  });
  // The first one migrates; the second starts on the migrated database.
  const first = spawnGateway(env(await freePort()), { built: true });
  const a = await first.listening;
  const second = spawnGateway(env(await freePort()), { built: true });
  const b = await second.listening;
  return { gateways: [first, second], urls: [a, b] };
}

/** (a) The simulator against `targets` (alternating); returns latencies per kind and what it sent. */
async function simulate(targets: Target[], seconds: number, team: boolean, warmup = WARMUP) {
  const latency: Record<string, number[]> = { logs: [], metrics: [], push: [] };
  const failures: Record<string, number> = { logs: 0, metrics: 0, push: 0 };
  const sent = { requests: 0, tokens: 0, lines: 0, lineTokens: 0 };
  const started = Date.now();
  // The first `warmup` seconds run the same load unmeasured (JIT, connection pools, caches).
  const measuredFrom = started + warmup * 1000;
  seconds += warmup;
  const end = started + seconds * 1000;
  let turn = 0;
  const next = () => targets[turn++ % targets.length];
  let n = 0;
  const inFlight = new Set<Promise<unknown>>();
  const warm: number[] = [];
  const track = (kind: string, p: Promise<{ status: number; ms: number }>) => {
    const measured = Date.now() >= measuredFrom;
    const done = p.then(
      (r) => {
        if (r.status !== 200) failures[kind]++;
        else if (measured) latency[kind].push(r.ms);
        else if (kind !== 'push') warm.push(r.ms);
      },
      () => failures[kind]++,
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  const logTick = 6000;
  const metricTick = 60_000;
  const proto = (member: number) => ({
    'content-type': 'application/x-protobuf',
    ...targets[0].headers(member),
  });
  // Each member's exports at its own offset within the tick.
  const schedule: { at: number; run: () => void }[] = [];
  for (let t = 0; t < seconds * 1000; t += logTick)
    for (let m = 0; m < MEMBERS; m++)
      schedule.push({
        at: started + t + (m / MEMBERS) * logTick,
        run: () => {
          const request = { id: `req-${m}-${n++}`, tokens: 1000 + (n % 500) };
          sent.requests++;
          sent.tokens += request.tokens + 100;
          const body = logsBody(m, [request], Date.now());
          const target = next();
          track('logs', post(`${target.url}/v1/logs`, body, { ...proto(m), ...target.headers(m) }));
          if (Math.random() < REPEAT)
            track(
              'logs',
              post(`${next().url}/v1/logs`, body, { ...proto(m), ...target.headers(m) }),
            );
        },
      });
  for (let t = 0; team && t < seconds * 1000; t += metricTick)
    for (let m = 0; m < MEMBERS; m++)
      schedule.push({
        at: started + t + (m / MEMBERS) * metricTick,
        run: () => {
          const now = Date.now();
          const body = metricsBody(m, now - metricTick, now);
          const target = next();
          track(
            'metrics',
            post(`${target.url}/v1/metrics`, body, { ...proto(m), ...target.headers(m) }),
          );
          if (Math.random() < REPEAT)
            track(
              'metrics',
              post(`${next().url}/v1/metrics`, body, { ...proto(m), ...target.headers(m) }),
            );
        },
      });
  if (team)
    for (let t = 5000; t < seconds * 1000; t += 10_000)
      schedule.push({
        at: started + t,
        run: () => {
          for (let p = 0; p < PUSHERS; p++) {
            const member = p;
            const entries = Array.from({ length: PUSH_LINES }, (_, i) => {
              const id = n++;
              sent.lines++;
              sent.lineTokens += 500 + (id % 100);
              return {
                ts: Date.now() - i * 1000,
                model: MODELS[i % MODELS.length],
                input_tokens: 500 + (id % 100),
                output_tokens: 0,
                cache_creation_tokens: 0,
                cache_read_tokens: 0,
                session_id: `-home-m${member}-proj`,
                project_path: 'Unknown Project',
                project: `-home-m${member}-proj`,
                message_id: `msg-push-${id}`,
                request_id: `req-push-${id}`,
              };
            });
            const body = JSON.stringify({ machine: `push-${member}`, entries });
            const headers = { 'content-type': 'application/json', ...targets[0].headers(member) };
            track('push', post(`${next().url}/api/usage/entries`, body, headers));
            if (Math.random() < REPEAT * 4)
              track('push', post(`${next().url}/api/usage/entries`, body, headers));
          }
        },
      });
  schedule.sort((a, b) => a.at - b.at);
  while (schedule.length && schedule[schedule.length - 1].at >= end) schedule.pop();
  for (const item of schedule) {
    const wait = item.at - Date.now();
    if (wait > 0) await sleep(wait);
    item.run();
  }
  while (inFlight.size) await Promise.all([...inFlight]);
  return { latency, warm, failures, sent, tookS: (Date.now() - started) / 1000, end };
}

function line(name: string, values: number[]) {
  return `${name.padEnd(10)} n=${String(values.length).padStart(6)}  p50 ${ms(pct(values, 0.5)).padStart(9)}  p99 ${ms(pct(values, 0.99)).padStart(9)}`;
}

async function main() {
  const db = await createDatabase();
  let gateways: GatewayProcess[] = [];
  let bare: Awaited<ReturnType<typeof bareServer>> | undefined;
  const client = new Client({ connectionString: db.url });
  try {
    const started = await startGateways(db.url);
    gateways = started.gateways;
    const [a, b] = started.urls;
    await client.connect();
    bare = await bareServer(db.url);
    console.log(
      `team bench: ${MEMBERS} members, ${SECONDS} s simulated, PostgreSQL, 2 instances (${a}, ${b})`,
    );

    // Members and their tokens.
    const tokens: string[] = [];
    for (let m = 0; m < MEMBERS; m += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, MEMBERS - m) }, async (_, i) => {
          const res = await fetch(`${a}/api/team/members`, {
            method: 'POST',
            headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ name: `member-${m + i}` }),
          });
          return ((await res.json()) as { token: string }).token;
        }),
      );
      tokens.push(...batch);
    }
    const auth = (member: number) => ({ authorization: `Bearer ${tokens[member]}` });

    // The floor first, a quarter of the time: the same log exports to bare Fastify + INSERT.
    const floor = await simulate(
      [{ url: bare.url, headers: () => ({}) }],
      Math.max(10, Math.round(SECONDS / 4)),
      false,
    );
    const rssBefore = gateways.map((g) => rssMb(g.child.pid!));
    const run = await simulate(
      [
        { url: a, headers: auth },
        { url: b, headers: auth },
      ],
      SECONDS,
      true,
    );
    const rssIngest = gateways.map((g) => rssMb(g.child.pid!));

    const stored = (
      await client.query(
        `SELECT count(*)::bigint AS rows, count(DISTINCT request_id)::bigint AS requests,
                sum(input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens)::bigint AS tokens
           FROM usage_entries`,
      )
    ).rows[0] as { rows: string; requests: string; tokens: string };
    const expectedRows = run.sent.requests + run.sent.lines;
    const lost = expectedRows - Number(stored.requests);
    const doubled = Number(stored.rows) - Number(stored.requests);
    const totals = await Promise.all(
      [a, b].map(async (url) => {
        const res = await fetch(`${url}/api/team/usage/reports/monthly`, {
          headers: { 'x-api-key': KEY },
        });
        return ((await res.json()) as { totals: { total_tokens: number } }).totals.total_tokens;
      }),
    );
    const metric = (
      await client.query(
        `SELECT metric, sum(value) AS v FROM usage_metric_minutes GROUP BY metric ORDER BY metric`,
      )
    ).rows as { metric: string; v: string }[];

    const ingest = [...run.latency.logs, ...run.latency.metrics];
    console.log('\n(a) ingest — ratio to the floor first');
    console.log(
      `  OTLP p99 / floor p99: ${(pct(ingest, 0.99) / pct(floor.latency.logs, 0.99)).toFixed(2)}x   (p50 ${(pct(ingest, 0.5) / pct(floor.latency.logs, 0.5)).toFixed(2)}x)`,
    );
    console.log(
      `  ${line('floor', floor.latency.logs)}   (bare Fastify: decode + INSERT, ${floor.tookS.toFixed(0)} s)`,
    );
    console.log(`  ${line('otlp', ingest)}   (logs + metrics, both instances)`);
    console.log(
      `  ${line('warm-up', run.warm)}   (OTLP in the first ${WARMUP} s, not counted above; the floor's: ${line('', floor.warm).trim()})`,
    );
    console.log(`  ${line('logs', run.latency.logs)}`);
    console.log(`  ${line('metrics', run.latency.metrics)}`);
    console.log(
      `  ${line('push', run.latency.push)}   (${PUSHERS} at once, ${PUSH_LINES} lines each)`,
    );
    console.log(
      `  failed requests: ${JSON.stringify(run.failures)}; simulated ${WARMUP} + ${SECONDS} s took ${run.tookS.toFixed(0)} s`,
    );
    console.log(
      `  sent ${run.sent.requests} api_request events + ${run.sent.lines} pushed lines = ${expectedRows} requests; stored ${stored.requests}: lost ${lost}, doubled ${doubled}`,
    );
    console.log(
      `  tokens sent ${run.sent.tokens + run.sent.lineTokens}, stored ${stored.tokens}; team totals on each instance: ${totals.join(' / ')}`,
    );
    console.log(
      `  counters: ${metric.map((r) => `${r.metric} ${Number(r.v).toFixed(2)}`).join(', ')}`,
    );

    // (b) Grow the ledger to ROWS rows (30 days, the same members), roll-ups as the ledger keeps them.
    const have = Number(stored.rows);
    const extra = Math.max(0, ROWS - have);
    const seedStarted = performance.now();
    if (extra > 0) {
      const day = 86_400_000;
      const from = Date.now() - 30 * day;
      // Each member's requests in one two-hour stretch a day (10 a minute while it works), as
      // Claude Code users do: the roll-ups hold what a real ledger's would.
      const perDay = Math.max(1, Math.ceil(extra / MEMBERS / 30));
      await client.query(`
        INSERT INTO usage_entries (entry_key, request_id, source, member, machine, project, session_id,
          project_path, claude_session, model, ts, input_tokens, output_tokens, cache_creation_tokens,
          cache_read_tokens, cost_usd, reported_cost_usd, attributes, received_at)
        SELECT md5('seed' || g), 'seed-' || g, 'push', 'member-' || (g % ${MEMBERS}), 'm' || (g % ${MEMBERS}),
          '-home-p' || (g % 7), 's' || (g % ${MEMBERS}) || '-' || (g / ${MEMBERS} / ${perDay}), 'Unknown Project', NULL,
          (ARRAY['${MODELS.join("','")}'])[1 + g % ${MODELS.length}],
          ${from} + (g / ${MEMBERS} / ${perDay}) * ${day} + (8 + g % ${MEMBERS} % 12) * 3600000
            + (g / ${MEMBERS} % ${perDay}) * ${Math.floor((2 * 3_600_000) / perDay)},
          1000 + g % 997, 200, 0, 5000, 0.0042, NULL, NULL, ${Date.now()}
        FROM generate_series(1::bigint, ${extra}) AS g`);
      const sums = `sum(input_tokens), sum(output_tokens), sum(cache_creation_tokens), sum(cache_read_tokens), sum(cost_usd), count(*)`;
      const addUp = (table: string) =>
        [
          'input_tokens',
          'output_tokens',
          'cache_creation_tokens',
          'cache_read_tokens',
          'cost_usd',
          'entries',
        ]
          .map((c) => `${c} = ${table}.${c} + excluded.${c}`)
          .join(', ');
      const seeded = `FROM usage_entries WHERE request_id LIKE 'seed-%'`;
      await client.query(`
        INSERT INTO usage_rollups (quarter, member, machine, model, project, input_tokens, output_tokens,
          cache_creation_tokens, cache_read_tokens, cost_usd, entries)
        SELECT ts / 900000, member, machine, model, project, ${sums} ${seeded} GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (quarter, agent, member, machine, model, project) DO UPDATE SET ${addUp('usage_rollups')}`);
      await client.query(`
        INSERT INTO usage_team_rollups (quarter, model, shard, input_tokens, output_tokens,
          cache_creation_tokens, cache_read_tokens, cost_usd, entries)
        SELECT ts / 900000, model, substr(member, 8)::int % 16, ${sums} ${seeded} GROUP BY 1, 2, 3
        ON CONFLICT (quarter, agent, model, shard) DO UPDATE SET ${addUp('usage_team_rollups')}`);
      await client.query(`
        INSERT INTO usage_session_rollups (member, machine, project_path, session_id, model, project,
          input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, entries, last_ts)
        SELECT member, machine, project_path, session_id, model, min(project), ${sums}, max(ts) ${seeded}
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (member, agent, machine, project_path, session_id, model) DO UPDATE SET
          ${addUp('usage_session_rollups')}, last_ts = GREATEST(usage_session_rollups.last_ts, excluded.last_ts)`);
      await client.query(`
        INSERT INTO usage_member_rollups (quarter, member, model, input_tokens, output_tokens,
          cache_creation_tokens, cache_read_tokens, cost_usd, entries)
        SELECT ts / 900000, member, model, ${sums} ${seeded} GROUP BY 1, 2, 3
        ON CONFLICT (quarter, agent, member, model) DO UPDATE SET ${addUp('usage_member_rollups')}`);
      await client.query(`
        INSERT INTO usage_member_days (day, member, model, input_tokens, output_tokens,
          cache_creation_tokens, cache_read_tokens, cost_usd, entries)
        SELECT ts / 86400000, member, model, ${sums} ${seeded} GROUP BY 1, 2, 3
        ON CONFLICT (day, agent, member, model) DO UPDATE SET ${addUp('usage_member_days')}`);
      await client.query(`
        INSERT INTO usage_machine_activity (member, machine, last_ts) SELECT member, machine, max(ts) ${seeded} GROUP BY 1, 2
        ON CONFLICT (member, machine) DO UPDATE SET last_ts = GREATEST(usage_machine_activity.last_ts, excluded.last_ts)`);
      // As autovacuum leaves a table some time after a bulk load: visibility map set, statistics
      // fresh (the floor reads the same tables).
      await client.query('VACUUM ANALYZE');
    }
    const counts = (
      await client.query(
        'SELECT (SELECT count(*) FROM usage_entries) AS e, (SELECT count(*) FROM usage_rollups) AS r, (SELECT count(*) FROM usage_member_rollups) AS mr, (SELECT count(*) FROM usage_team_rollups) AS t',
      )
    ).rows[0] as { e: string; r: string; mr: string; t: string };
    console.log(
      `\n(b) the team daily report over ${Number(counts.e).toLocaleString('en')} ledger rows (roll-ups: ${Number(counts.r).toLocaleString('en')} full rows, ${Number(counts.mr).toLocaleString('en')} member rows, ${Number(counts.t).toLocaleString('en')} team rows; seeding took ${((performance.now() - seedStarted) / 1000).toFixed(0)} s)`,
    );
    const timeReport = async (
      url: string,
      path: string,
      headers: Record<string, string>,
      runs = REPORTS,
    ) => {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        const res = await fetch(`${url}${path}`, { headers });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
        times.push(performance.now() - t);
      }
      return times;
    };
    const floorReport = await timeReport(bare.url, '/report', {});
    const admin = { 'x-api-key': KEY };
    const daily = await timeReport(a, '/api/team/usage/reports/daily', admin);
    console.log(
      `  daily p50 / floor p50: ${(pct(daily, 0.5) / pct(floorReport, 0.5)).toFixed(1)}x`,
    );
    console.log(`  ${line('floor', floorReport)}   (bare Fastify: SELECT 1)`);
    console.log(`  ${line('daily', daily)}   (all history, UTC; instance A)`);
    // Reports by member (Europe/Berlin, a DST zone), each against its own floor in the same run:
    // bare Fastify + node-postgres reading the same day roll-up rows and answering them as JSON,
    // samples alternating (floor, gateway, floor, …). Whole answers (every member: their size
    // is members × days) a few times; pages of PAGES members (`limit`) as often as the team daily.
    const fewer = Math.max(3, Math.round(REPORTS / 40));
    const since = (days: number) =>
      new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
    const firstMembers = (
      await client.query(
        `SELECT DISTINCT member FROM usage_member_days ORDER BY member LIMIT ${Math.max(...PAGES)}`,
      )
    ).rows.map((r: { member: string }) => r.member);
    const variants: { name: string; days: number; extra: string; members?: string[] }[] = [
      ...PAGES.flatMap((size) =>
        [7, 30].map((days) => ({
          name: `${days} d, a page of ${size}`,
          days,
          extra: `&limit=${size}`,
          members: firstMembers.slice(0, size),
        })),
      ),
      { name: `7 d, ${MEMBERS} members`, days: 7, extra: '' },
      { name: `30 d, ${MEMBERS} members`, days: 30, extra: '' },
      { name: `7 d, ${MEMBERS}, breakdown=false`, days: 7, extra: '&breakdown=false' },
    ];
    console.log(
      `\n  by member: daily, group_by=member, Europe/Berlin (instance B) — ratio to the floor first`,
    );
    for (const variant of variants) {
      const path = `/api/team/usage/reports/daily?group_by=member&timezone=Europe/Berlin&since=${since(variant.days)}${variant.extra}`;
      const floorPath = `/member-days?since=${since(variant.days)}${variant.members ? `&members=${variant.members.join(',')}` : ''}`;
      const runs = variant.members ? Math.max(fewer, Math.round(REPORTS / 4)) : fewer;
      const ours: number[] = [];
      const bareTimes: number[] = [];
      for (let i = 0; i < runs; i++) {
        bareTimes.push(...(await timeReport(bare.url, floorPath, {}, 1)));
        ours.push(...(await timeReport(b, path, admin, 1)));
      }
      const bytes = (await (await fetch(`${b}${path}`, { headers: admin })).arrayBuffer())
        .byteLength;
      const floorBytes = (await (await fetch(`${bare.url}${floorPath}`)).arrayBuffer()).byteLength;
      console.log(
        `  ${variant.name.padEnd(28)} p50 ${(pct(ours, 0.5) / pct(bareTimes, 0.5)).toFixed(2)}x  p99 ${(pct(ours, 0.99) / pct(bareTimes, 0.99)).toFixed(2)}x   ` +
          `${line('gateway', ours).trim()}, ${(bytes / 1e6).toFixed(1)} MB   ${line('floor', bareTimes).trim()}, ${(floorBytes / 1e6).toFixed(1)} MB`,
      );
    }
    const summary = await timeReport(a, '/api/team/usage', admin, fewer);
    console.log(`  ${line('summary', summary)}   (GET /api/team/usage, ${MEMBERS} members)`);
    const rssAfter = gateways.map((g) => rssMb(g.child.pid!));
    console.log(
      `\n(c) RSS (MB) per instance: at start ${rssBefore.map((r) => r.toFixed(0)).join(' / ')}, after ingest ${rssIngest.map((r) => r.toFixed(0)).join(' / ')}, after reports ${rssAfter.map((r) => r.toFixed(0)).join(' / ')}`,
    );
  } finally {
    await client.end().catch(() => undefined);
    await bare?.close();
    for (const g of gateways) {
      g.child.kill('SIGTERM');
      await g.exited;
    }
    await db.drop();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
