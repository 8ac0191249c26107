import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/**
 * Writes a Claude Code log tree the way Claude Code lays it out — `projects/<project>/<uuid>.jsonl`
 * and a subagent's `projects/<project>/<uuid>/subagents/agent-<n>.jsonl` — with what makes reports
 * hard: lines repeated within a file (one per content block), across files and across projects,
 * lines without a requestId (never de-duplicated), `<synthetic>` lines, costUSD given, fast mode,
 * an unknown speed (skipped), malformed lines, entries minutes around the local midnights of four
 * zones and across the 2026 DST changes (St. John's 8 Mar / 1 Nov, Berlin 29 Mar / 25 Oct).
 * `ids` prefixes message and request ids: trees of several machines share none by chance.
 */
export function writeReportTree(claudeDir: string, seed = 13, ids = ''): void {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)];
  const days: number[] = [];
  for (const [from, to] of [
    ['2026-03-04', '2026-04-02'],
    ['2026-10-22', '2026-11-04'],
  ]) {
    for (let t = Date.parse(from); t <= Date.parse(to); t += 86_400_000) days.push(t);
  }
  const shared: { at: number; text: string }[] = []; // lines other files (and projects) repeat
  let n = 0;
  const entry = (at: number, sessionId: string, project: string): string => {
    n += 1;
    const synthetic = rnd() < 0.04;
    const model = synthetic ? '<synthetic>' : pick(MODELS);
    const usage: Record<string, unknown> = synthetic
      ? { input_tokens: 0, output_tokens: 0 }
      : {
          input_tokens: Math.floor(rnd() * 3000),
          output_tokens: Math.floor(rnd() * 9000),
          cache_creation_input_tokens: Math.floor(rnd() * 20_000),
          cache_read_input_tokens: Math.floor(rnd() * 250_000),
        };
    // Above 200k tokens of one kind, the tiered price applies.
    if (rnd() < 0.03) usage.input_tokens = 200_000 + Math.floor(rnd() * 50_000);
    if (model === 'claude-opus-4-6' && rnd() < 0.5) usage.speed = 'fast';
    if (rnd() < 0.01) usage.speed = 'turbo';
    const line: Record<string, unknown> = {
      parentUuid: null,
      isSidechain: false,
      cwd: `/home/me/${project.slice(9)}`,
      sessionId,
      version: '2.0.30',
      type: 'assistant',
      uuid: `u-${ids}${n}`,
      timestamp: new Date(at).toISOString(),
      message: {
        id: `msg_${ids}${n}`,
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text: 'ok' }],
        usage,
      },
    };
    if (rnd() > 0.05) line.requestId = `req_${ids}${n}`;
    if (rnd() < 0.05) line.costUSD = Math.round(rnd() * 5000) / 1000;
    return JSON.stringify(line);
  };
  /**
   * A file as Claude Code writes it: in time order, own lines (some twice in a row, as one line
   * per content block), plus copies of earlier files' lines never ahead of its first own line
   * (which order the files are read in is then the same for every reader).
   */
  const writeLog = (path: string, own: { at: number; text: string }[], copies: number) => {
    own.sort((a, b) => a.at - b.at);
    const lines = [...own];
    for (const { at, text } of own) {
      if (rnd() < 0.3) lines.push({ at, text });
      if (rnd() < 0.08) shared.push({ at, text });
    }
    const later = shared.filter((line) => line.at > own[0].at);
    for (let i = 0; i < copies && later.length > 0; i++) lines.push(pick(later));
    lines.sort((a, b) => a.at - b.at);
    const text = lines.map((line) => line.text);
    if (rnd() < 0.5) text.push('{"type":"assistant","message":{"usage":', 'not json at all');
    writeFileSync(path, text.join('\n') + '\n');
  };
  for (const project of TREE_PROJECTS) {
    for (let file = 0; file < 3; file++) {
      const uuid = `${project.slice(-4)}-${file}-0000-4000-8000-00000000000${file}`;
      const own: { at: number; text: string }[] = [];
      for (const day of days) {
        if (rnd() < 0.35) continue;
        const count = 1 + Math.floor(rnd() * 4);
        for (let i = 0; i < count; i++) {
          const minute =
            rnd() < 0.6 ? pick(MIDNIGHTS) + Math.floor(rnd() * 30) - 15 : Math.floor(rnd() * 1440);
          const at = day + minute * 60_000 + Math.floor(rnd() * 60_000);
          own.push({ at, text: entry(at, uuid, project) });
        }
      }
      const folder = join(claudeDir, 'projects', project);
      mkdirSync(folder, { recursive: true });
      writeLog(join(folder, `${uuid}.jsonl`), own, 6);
      if (file === 0) {
        // A subagent's log in the session's folder: ccusage names its session differently.
        const sub = join(folder, uuid, 'subagents');
        mkdirSync(sub, { recursive: true });
        const start = own[Math.floor(own.length / 2)].at + 1000;
        const mine = Array.from({ length: 15 }, (_, i) => {
          const at = start + i * 7_200_000;
          return { at, text: entry(at, uuid, project) };
        });
        writeLog(join(sub, 'agent-1.jsonl'), mine, 3);
      }
    }
  }
}
