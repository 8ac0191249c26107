import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface UsageLog {
  /** Epoch ms of the first line. */
  readonly start: number;
  readonly count: number;
  readonly everyMs: number;
  /** The token counts of line `i`. */
  readonly usage: (i: number) => Record<string, number>;
  readonly project?: string;
}

/**
 * Writes one session's assistant lines (ids `msg_<i>` / `req_<i>`, Sonnet 4.5) as Claude Code does,
 * into `<claudeDir>/projects/<project>/s-1.jsonl`; returns the file's path. (No vitest import: the
 * drills use it too.)
 */
export function writeUsageLog(claudeDir: string, log: UsageLog): string {
  const folder = join(claudeDir, 'projects', log.project ?? 'shop');
  mkdirSync(folder, { recursive: true });
  const lines = Array.from({ length: log.count }, (_, i) =>
    JSON.stringify({
      type: 'assistant',
      sessionId: 's-1',
      timestamp: new Date(log.start + i * log.everyMs).toISOString(),
      requestId: `req_${i}`,
      message: {
        id: `msg_${i}`,
        model: 'claude-sonnet-4-5-20250929',
        usage: log.usage(i),
      },
    }),
  );
  const file = join(folder, 's-1.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
