import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// The hook sender's spool: a CommonJS module of the dependency-free hook (bin/), typed here.
const spool = createRequire(__filename)('../bin/hook-spool.js') as {
  spoolLine: (event: string, newKey?: () => string) => string;
  parseSpoolLine: (line: string, newKey?: () => string) => { key: string; body: string };
  keepNewest: (lines: string[], maxBytes: number) => { kept: string[]; dropped: number };
  drain: (queue: string[], send: (line: string, i: number) => Promise<string>) => Promise<number>;
  openSpool: (options: {
    dir: string;
    maxBytes: number;
    now?: () => number;
    warn?: (m: string) => void;
  }) => {
    lock: (waitMs: number) => Promise<boolean>;
    unlock: () => void;
    drop: (line: string) => void;
    queueWith: (line: string) => string[];
    write: (lines: string[]) => void;
    lines: () => string[];
  };
};

describe("the hook sender's spool", () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'ug-spool-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('keys each line, and reads a line of an older version (the JSON alone) with a new key', () => {
    const line = spool.spoolLine('{"a":1}', () => 'k1');
    expect(line).toBe('k1 {"a":1}');
    expect(spool.parseSpoolLine(line)).toEqual({ key: 'k1', body: '{"a":1}' });
    expect(spool.parseSpoolLine('{"a":1}', () => 'k2')).toEqual({ key: 'k2', body: '{"a":1}' });
  });

  it('keeps the newest lines within its size, counting bytes and newlines', () => {
    expect(spool.keepNewest(['aaaa', 'bb', 'é'], 6)).toEqual({ kept: ['bb', 'é'], dropped: 1 });
    expect(spool.keepNewest(['aaaa'], 4)).toEqual({ kept: [], dropped: 1 });
  });

  it('sends in order and stops at the first event not taken', async () => {
    const sent: string[] = [];
    const verdicts: Record<string, string> = { a: 'sent', b: 'duplicate', c: 'failed', d: 'sent' };
    const taken = await spool.drain(['a', 'b', 'c', 'd'], async (line) => {
      sent.push(line);
      return verdicts[line];
    });
    expect(taken).toBe(2);
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(await spool.drain(['x'], async () => 'refused')).toBe(0);
  });

  it('merges the spool and drop files (in time order) before the new event, under one lock', async () => {
    const d = dir();
    let now = 1_000;
    const s = spool.openSpool({ dir: d, maxBytes: 1 << 20, now: () => now });
    s.write(['k0 {"n":0}']);
    expect(await s.lock(0)).toBe(true);
    // Another sender finds the lock taken and leaves drop files.
    const other = spool.openSpool({ dir: d, maxBytes: 1 << 20, now: () => now });
    expect(await other.lock(0)).toBe(false);
    other.drop('k2 {"n":2}');
    now -= 500; // an earlier time: its file sorts first
    other.drop('k1 {"n":1}');
    const queue = s.queueWith('k3 {"n":3}');
    expect(queue).toEqual(['k0 {"n":0}', 'k1 {"n":1}', 'k2 {"n":2}', 'k3 {"n":3}']);
    // Written before anything is sent: a crash now loses nothing.
    expect(s.lines()).toEqual(queue);
    expect(readdirSync(d).filter((f) => f.startsWith('pending-'))).toEqual([]);
    s.write(queue.slice(4));
    expect(s.lines()).toEqual([]);
    s.unlock();
    expect(await other.lock(0)).toBe(true);
  });

  it('takes over a lock left behind by a sender that died (older than 10 s)', async () => {
    const d = dir();
    writeFileSync(join(d, 'spool.lock'), '99999');
    let now = Date.now();
    const s = spool.openSpool({ dir: d, maxBytes: 1024, now: () => now });
    expect(await s.lock(0)).toBe(false);
    now += 11_000;
    // One try clears the stale lock, the next takes it.
    expect((await s.lock(0)) || (await s.lock(0))).toBe(true);
  });

  it('drops the oldest events beyond its size and says so', () => {
    const warnings: string[] = [];
    const s = spool.openSpool({ dir: dir(), maxBytes: 12, warn: (m) => warnings.push(m) });
    s.write(['k1 {"n":1}', 'k2 {"n":2}']);
    expect(s.lines()).toEqual(['k2 {"n":2}']);
    expect(warnings).toEqual(['spool full: dropped the 1 oldest event(s)']);
  });
});
