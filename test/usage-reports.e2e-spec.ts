import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeStatusDto } from '../src/bridge/dto/bridge-status.dto';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/databases';
import { writeReportTree } from './support/report-tree';
import { connected, connectSocket } from './support/socket-client';
import { TestClock } from './support/test-clock';
import { startAppWithBridge, type RunningApp } from './support/test-app';
import { isAlive, waitFor } from './support/wait';

type Row = Record<string, unknown> & { models: string[] };
type Report = Record<string, unknown> & { totals: Record<string, number> };

/** Python's csv module reads the text: [header, ...rows] as it sees them. */
function parseWithPython(text: string): string[][] {
  const script =
    'import csv, io, json, sys\nprint(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline="")))))';
  const result = spawnSync('python3', ['-c', script], { input: text, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as string[][];
}

describe.each(databaseKinds())('usage report routes on %s', (kind) => {
  let db: TestDatabase;
  let dir: string;
  let claude: string;
  let app: RunningApp;
  const clock = new TestClock();
  const get = (path: string) => fetch(`${app.url}${path}`);
  const status = async () =>
    (await (await get('/api/usage/bridge/status')).json()) as BridgeStatusDto;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    dir = mkdtempSync(join(tmpdir(), 'ug-report-api-'));
    claude = join(dir, 'claude');
    writeReportTree(claude, 21);
    app = await startAppWithBridge(
      dir,
      { ...db.env, BRIDGE_AUTO_RESTART: 'false' },
      { clock: clock.now },
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad parameters with one problem listing every field, and stores nothing', async () => {
    const res = await get(
      '/api/usage/reports/daily?since=2026-13-01&until=x&timezone=Mars/Olympus&order=up' +
        '&start_of_week=someday&breakdown=maybe&reset_hour=24&format=xml&project=a/b',
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { errors: { field: string }[] };
    expect([...new Set(problem.errors.map((e) => e.field))].sort()).toEqual([
      'breakdown',
      'format',
      'order',
      'project',
      'reset_hour',
      'since',
      'start_of_week',
      'timezone',
      'until',
    ]);
    const backwards = await get('/api/usage/reports/weekly?since=2026-03-10&until=2026-03-01');
    expect(backwards.status).toBe(400);
    expect(((await backwards.json()) as { errors: { field: string }[] }).errors).toEqual([
      expect.objectContaining({ field: 'until' }),
    ]);
    expect((await get('/api/usage/reports/yearly')).status).toBe(404);
    const stored = (await (await get('/api/usage/snapshots?kind=report:daily')).json()) as {
      count: number;
    };
    expect(stored.count).toBe(0);
  });

  it('answers CSV that Python reads back to the same numbers as the JSON', async () => {
    for (const report of ['daily', 'weekly', 'monthly', 'sessions']) {
      const query = 'timezone=America/St_Johns&order=desc';
      const json = (await (await get(`/api/usage/reports/${report}?${query}`)).json()) as Report;
      const res = await get(`/api/usage/reports/${report}?${query}&format=csv`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      const text = await res.text();
      expect(text.endsWith('\r\n')).toBe(true);
      const [header, ...lines] = parseWithPython(text);
      const rows = json[report] as Row[];
      expect(rows.length).toBeGreaterThan(0);
      expect(lines).toHaveLength(rows.length);
      lines.forEach((line, i) => {
        const record = Object.fromEntries(header.map((name, j) => [name, line[j]]));
        const row = rows[i];
        for (const name of header) {
          if (name === 'models') expect(record.models.split(' ')).toEqual(row.models);
          // Costs to a millionth of a dollar (JSON keeps the exact sum).
          else if (name === 'cost_usd')
            expect(Number(record.cost_usd)).toBe(Math.round((row.cost_usd as number) * 1e6) / 1e6);
          // Text cells a spreadsheet would run as a formula get a leading ' (OWASP).
          else
            expect(record[name]).toBe(
              typeof row[name] === 'string' && /^[=+\-@\t\r]/.test(row[name])
                ? `'${row[name]}`
                : String(row[name]),
            );
        }
      });
      expect(header).toContain('total_tokens');
      expect(header).not.toContain('model_breakdowns');
    }
  });

  it('serves the stored reports once the bridge is gone, and says so', async () => {
    const reads = [
      '/api/usage/reports/daily?timezone=Europe/Berlin',
      '/api/usage/reports/sessions?breakdown=false',
      '/api/usage/reports/weekly?start_of_week=monday&project=-home-me-docs',
    ];
    const live = [];
    for (const path of reads) {
      const res = await get(path);
      expect(['bridge', 'cache']).toContain(res.headers.get('x-data-source'));
      live.push(await res.json());
    }
    // Snapshots are written after the reply.
    await waitFor(
      async () => {
        const list = (await (await get('/api/usage/snapshots?limit=100')).json()) as {
          snapshots: { kind: string }[];
        };
        const kinds = new Set(list.snapshots.map((s) => s.kind));
        return (
          ['report:daily', 'report:sessions', 'report:weekly'].every((k) => kinds.has(k)) ||
          undefined
        );
      },
      5000,
      'report snapshots stored',
    );
    const { pid } = (await status()).process;
    process.kill(pid as number, 'SIGKILL');
    await waitFor(() => !isAlive(pid as number), 2000, 'bridge gone');
    clock.advance(1100); // past the 1 s cache
    for (const [i, path] of reads.entries()) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-data-source')).toBe('snapshot');
      expect(Number(res.headers.get('x-data-age'))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toEqual(live[i]);
    }
    // CSV from the snapshot too; a report never asked for is empty, not an error.
    const csv = await get(`${reads[0]}&format=csv`);
    expect(csv.headers.get('x-data-source')).toBe('snapshot');
    expect(parseWithPython(await csv.text()).length).toBe(
      (live[0] as { daily: unknown[] }).daily.length + 1,
    );
    const never = await get('/api/usage/reports/monthly?timezone=Asia/Tokyo');
    expect(never.status).toBe(200);
    expect(never.headers.get('x-data-source')).toBe('default');
    expect(await never.json()).toMatchObject({ monthly: [], totals: { cost_usd: 0 } });
  }, 30_000);
});

describe('usage_daily: today’s total, pushed when it changes', () => {
  let dir: string;
  let db: TestDatabase;
  let app: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'ug-daily-'));
    writeReportTree(join(dir, 'claude'), 5);
    app = await startAppWithBridge(dir, db.env);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends today’s row to dashboards after new usage arrives', async () => {
    const socket = connectSocket(app.url);
    try {
      await connected(socket);
      await socket.next('initial');
      const project = join(dir, 'claude', 'projects', '-home-me-shop');
      const file = join(
        project,
        readdirSync(project).find((f) => f.endsWith('.jsonl'))!,
      );
      const line = (n: number) =>
        JSON.stringify({
          type: 'assistant',
          timestamp: new Date().toISOString(),
          requestId: `req_today_${n}`,
          message: {
            id: `msg_today_${n}`,
            model: 'claude-sonnet-4-5-20250929',
            usage: { input_tokens: 1000 * n, output_tokens: 7 },
          },
        }) + '\n';
      // Today's row as it was (none, or one from before): the next usage_daily is the news.
      const daily = () => socket.received.filter((r) => r.event === 'usage_daily');
      const seen = daily().length;
      appendFileSync(file, line(1));
      // New usage is noticed on a usage read (here the stats a dashboard asks for).
      const update = await waitFor(
        async () => {
          await fetch(`${app.url}/api/usage/stats`);
          return daily()
            .slice(seen)
            .find((r) => (r.message.data as { day: unknown }).day !== null);
        },
        10_000,
        'usage_daily',
      );
      const data = update.message.data as {
        date: string;
        timezone: string;
        day: { date: string; input_tokens: number } | null;
      };
      expect(data.timezone).toBe('UTC');
      expect(data.date).toBe(new Date().toISOString().slice(0, 10));
      expect(data.day?.date).toBe(data.date);
      expect(data.day?.input_tokens).toBeGreaterThanOrEqual(1000);
      const before = data.day!.input_tokens;
      const next = daily().indexOf(update) + 1;
      appendFileSync(file, line(2));
      const second = await waitFor(
        async () => {
          await fetch(`${app.url}/api/usage/stats`);
          return daily()[next];
        },
        10_000,
        'the next usage_daily',
      );
      expect((second.message.data as { day: { input_tokens: number } }).day.input_tokens).toBe(
        before + 2000,
      );
    } finally {
      socket.close();
    }
  }, 30_000);
});
