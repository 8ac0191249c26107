import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A small deterministic PRNG (mulberry32), so every run writes the same tree. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const TREE_PROJECTS = ['-home-me-shop', '-home-me-bank', '-home-me-docs'] as const;
const MODELS = [
  'claude-sonnet-4-5-20250929',
  'claude-opus-4-1-20250805',
  'claude-haiku-4-5-20251001',
  'claude-opus-4-6',
];
// Local midnights to crowd entries around: UTC, Berlin (+1/+2), Kolkata (+5:30), St. John's
// (-3:30/-2:30), as offsets in minutes from UTC midnight of the same date.
const MIDNIGHTS = [0, -60, -120, -330, 210, 150];

/** What a written tree holds besides its files (for the tests that compare it). */
export interface ReportTree {
  /**
   * The same tree where ccusage 20.0.24 disagrees with itself, written so that it does not: each
   * message without a requestId written once (its kept line) — its `daily` counts every line of
   * such a message, its weekly, monthly, session and blocks count it once — and no side-chain
   * replays — its `daily` drops a replay of a main-chain message, its weekly, monthly, session
   * and blocks count it again. ccusage over the twin gives the figures of the rules, which ours
   * follow over the tree itself.
   */
  readonly twin: string;
  /** Messages without a requestId written more than once, and side-chain replays written. */
  readonly repeatedWithoutRequestId: number;
  readonly replays: number;
}

/**
 * Writes a Claude Code log tree the way Claude Code lays it out — `projects/<project>/<uuid>.jsonl`
 * and a subagent's `projects/<project>/<uuid>/subagents/agent-<n>.jsonl` — with what makes reports
 * hard: messages streamed as 2–3 partial lines (a few output tokens each) before the billed line,
 * some across a local midnight; lines repeated within a file (one per content block), across files
 * and across projects (a resumed session copies history); messages without a requestId (keyed by
 * message id alone), some streamed; side-chain replays of main-chain messages under new request
 * ids; lines without any id (each counted); `<synthetic>` lines, costUSD given, fast mode, the
 * cache-write split (5-minute and 1-hour), an unknown speed (skipped), malformed lines, entries
 * minutes around the local midnights of four zones and across the 2026 DST changes (St. John's
 * 8 Mar / 1 Nov, Berlin 29 Mar / 25 Oct). `ids` prefixes message and request ids: trees of
 * several machines share none by chance. Writes the twin (see ReportTree) beside it.
 */
export function writeReportTree(
  claudeDir: string,
  seed = 13,
  ids = '',
  { endingAt }: { endingAt?: number } = {},
): ReportTree {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)];
  const days: number[] = [];
  // By default two stretches around both DST changes of 2026; with `endingAt`, the 25 days before
  // the day before it (for what is measured back from now: blocks).
  const stretches = endingAt
    ? [[endingAt - 26 * 86_400_000, endingAt - 2 * 86_400_000].map((t) => t - (t % 86_400_000))]
    : [
        [Date.parse('2026-03-04'), Date.parse('2026-04-02')],
        [Date.parse('2026-10-22'), Date.parse('2026-11-04')],
      ];
  for (const [from, to] of stretches) {
    for (let t = from; t <= to; t += 86_400_000) days.push(t);
  }
  // A line: its time, text, and (for the twin) the message-without-requestId group it is in and
  // whether it is that group's kept line.
  interface Line {
    at: number;
    text: string;
    group?: string;
    kept?: boolean;
    replay?: boolean;
  }
  const shared: Line[] = []; // lines other files (and projects) repeat
  // Main-chain lines a /btw side chain of the same project may replay.
  const mainLines: { at: number; obj: Record<string, unknown>; project: string }[] = [];
  let n = 0;
  const usageOf = (model: string): Record<string, unknown> => {
    if (model === '<synthetic>') return { input_tokens: 0, output_tokens: 0 };
    const usage: Record<string, unknown> = {
      input_tokens: Math.floor(rnd() * 3000),
      output_tokens: Math.floor(rnd() * 9000),
      cache_read_input_tokens: Math.floor(rnd() * 250_000),
    };
    const write = Math.floor(rnd() * 20_000);
    usage.cache_creation_input_tokens = write;
    if (rnd() < 0.5) {
      // Claude Code ≥ 1.0.80 splits cache writes by lifetime; 1-hour writes cost more.
      const hour = rnd() < 0.3 ? Math.floor(write * rnd()) : 0;
      usage.cache_creation = {
        ephemeral_5m_input_tokens: write - hour,
        ephemeral_1h_input_tokens: hour,
      };
    }
    // Above 200k tokens of one kind, the tiered price applies.
    if (rnd() < 0.03) usage.input_tokens = 200_000 + Math.floor(rnd() * 50_000);
    if (model === 'claude-opus-4-6' && rnd() < 0.5) usage.speed = 'fast';
    if (rnd() < 0.01) usage.speed = 'turbo';
    return usage;
  };
  const lineObj = (
    at: number,
    sessionId: string,
    project: string,
    message: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> => ({
    parentUuid: null,
    isSidechain: false,
    cwd: `/home/me/${project.slice(9)}`,
    sessionId,
    version: '2.0.30',
    type: 'assistant',
    uuid: `u-${ids}${n}-${Math.floor(rnd() * 1e9)}`,
    timestamp: new Date(at).toISOString(),
    ...extra,
    message,
  });
  /** One request: its lines (partial ones first when streamed). */
  /** One request; `lead` (ms) streams it, its first partial line that long before `at`. */
  const request = (at: number, sessionId: string, project: string, lead?: number): Line[] => {
    n += 1;
    const synthetic = lead === undefined && rnd() < 0.04;
    const model = synthetic ? '<synthetic>' : pick(MODELS);
    const usage = usageOf(model);
    const extra: Record<string, unknown> = {};
    const roll = rnd();
    const hasRequest = lead !== undefined || roll > 0.08;
    const noIds = lead === undefined && roll < 0.015;
    if (hasRequest) extra.requestId = `req_${ids}${n}`;
    if (rnd() < 0.05) extra.costUSD = Math.round(rnd() * 5000) / 1000;
    const message = (u: Record<string, unknown>, text: string): Record<string, unknown> => ({
      ...(noIds ? {} : { id: `msg_${ids}${n}` }),
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: text, text: 'ok' }],
      usage: u,
    });
    const lines: Line[] = [];
    const group = !hasRequest && !noIds ? `msg_${ids}${n}` : undefined;
    // Streamed: thinking / text blocks written before the billed line, the usage as it stood.
    if (lead !== undefined) usage.output_tokens = Math.max(usage.output_tokens as number, 100);
    const streamed =
      lead !== undefined ||
      (!synthetic && !noIds && (usage.output_tokens as number) > 1 && rnd() < 0.35);
    if (streamed) {
      const parts = 2 + Math.floor(rnd() * 2);
      // Some start just before a local midnight and end just after it.
      lead ??= rnd() < 0.3 ? 2000 + Math.floor(rnd() * 4000) : 300 + Math.floor(rnd() * 900);
      for (let p = 0; p < parts; p++) {
        // Fewer output tokens than billed: the billed line is the larger.
        const partial = {
          ...usage,
          output_tokens: Math.floor(rnd() * Math.min(12, usage.output_tokens as number)),
        };
        const when = at - lead + p * Math.floor(lead / parts);
        lines.push({
          at: when,
          text: JSON.stringify(
            lineObj(when, sessionId, project, message(partial, p ? 'text' : 'thinking'), extra),
          ),
          group,
        });
      }
    }
    const billed = lineObj(at, sessionId, project, message(usage, 'text'), extra);
    lines.push({ at, text: JSON.stringify(billed), group, kept: true });
    if (!synthetic && !noIds && hasRequest) mainLines.push({ at, obj: billed, project });
    return lines;
  };
  /**
   * A file as Claude Code writes it: in time order, own lines (some twice in a row, as one line
   * per content block), plus copies of earlier files' lines never ahead of its first own line,
   * and side-chain replays of earlier main-chain messages under new request ids.
   */
  const writeLog = (path: string, own: Line[], copies: number, project: string): Line[] => {
    own.sort((a, b) => a.at - b.at);
    const lines = [...own];
    for (const line of own) {
      if (rnd() < 0.3) lines.push({ ...line, kept: false });
      // Copies across files (a resumed session's history) of lines with a requestId only: the
      // twin could not write a message without one once per project and once in all.
      if (rnd() < 0.08 && !line.group) shared.push({ ...line, kept: false });
    }
    const later = shared.filter((line) => line.at > own[0].at);
    for (let i = 0; i < copies && later.length > 0; i++) lines.push(pick(later));
    const replayable = mainLines.filter((line) => line.at > own[0].at && line.project === project);
    for (let i = 0; i < 2 && replayable.length > 0; i++) {
      const { at, obj } = pick(replayable);
      const when = at + 60_000;
      const replay: Record<string, unknown> = {
        ...obj,
        isSidechain: true,
        timestamp: new Date(when).toISOString(),
        requestId: `req_btw_${ids}${++n}`,
      };
      const message = obj.message as Record<string, unknown>;
      const usage = message.usage as Record<string, number>;
      // A /btw side chain replays the parent's message with its own (larger) context.
      replay.message = {
        ...message,
        usage: { ...usage, cache_read_input_tokens: usage.cache_read_input_tokens + 5000 },
      };
      lines.push({ at: when, text: JSON.stringify(replay), replay: true });
    }
    lines.sort((a, b) => a.at - b.at);
    return lines;
  };
  const files: { path: string; lines: Line[]; garbage: boolean }[] = [];
  for (const project of TREE_PROJECTS) {
    for (let file = 0; file < 3; file++) {
      const uuid = `${ids}${project.slice(-4)}-${file}-0000-4000-8000-00000000000${file}`;
      const own: Line[] = [];
      for (const day of days) {
        if (rnd() < 0.35) continue;
        const count = 1 + Math.floor(rnd() * 4);
        for (let i = 0; i < count; i++) {
          const minute =
            rnd() < 0.6 ? pick(MIDNIGHTS) + Math.floor(rnd() * 30) - 15 : Math.floor(rnd() * 1440);
          const at = day + minute * 60_000 + Math.floor(rnd() * 60_000);
          own.push(...request(at, uuid, project));
        }
      }
      if (project === TREE_PROJECTS[0] && file === 0 && !endingAt) {
        // Streamed across midnight: partial lines on one day, the billed one on the next — in
        // UTC (7 March) and in Berlin (26 October, +01:00 again).
        own.push(...request(days[3] + 1000, uuid, project, 2500));
        own.push(...request(days[34] - 3_600_000 + 1500, uuid, project, 3000));
      }
      const folder = join(claudeDir, 'projects', project);
      files.push({
        path: join(folder, `${uuid}.jsonl`),
        lines: writeLog(join(folder, `${uuid}.jsonl`), own, 6, project),
        garbage: rnd() < 0.5,
      });
      if (file === 0) {
        // A subagent's log in the session's folder: it counts in the parent session.
        const start = own[Math.floor(own.length / 2)].at + 1000;
        const mine: Line[] = [];
        for (let i = 0; i < 15; i++) mine.push(...request(start + i * 7_200_000, uuid, project));
        const path = join(folder, uuid, 'subagents', 'agent-1.jsonl');
        files.push({ path, lines: writeLog(path, mine, 3, project), garbage: rnd() < 0.5 });
      }
    }
  }
  const twin = `${claudeDir}-twin`;
  const groups = new Map<string, number>();
  for (const file of files)
    for (const line of file.lines)
      if (line.group) groups.set(line.group, (groups.get(line.group) ?? 0) + 1);
  let replays = 0;
  for (const file of files) {
    for (const [root, keep] of [
      [claudeDir, () => true],
      [twin, (line: Line) => !line.replay && (!line.group || line.kept === true)],
    ] as const) {
      const path = join(root, file.path.slice(claudeDir.length));
      mkdirSync(dirname(path), { recursive: true });
      const text = file.lines.filter(keep).map((line) => line.text);
      if (file.garbage) text.push('{"type":"assistant","message":{"usage":', 'not json at all');
      writeFileSync(path, text.join('\n') + '\n');
    }
    replays += file.lines.filter((line) => line.replay).length;
  }
  const repeated = [...groups.values()].filter((count) => count > 1).length;
  return { twin, repeatedWithoutRequestId: repeated, replays };
}
