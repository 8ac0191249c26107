'use strict';
/*
 * The hook sender's spool (usage-gateway-hook): events the gateway did not take yet, one per
 * line `<idempotency key> <event JSON>` in <dir>/spool.jsonl, oldest first. The spool file is
 * changed only under <dir>/spool.lock; a sender that cannot get the lock in time leaves its event
 * in a drop file (pending-<time>-….jsonl), merged in name (time) order by the next holder.
 * Everything outside (directory, size limit, clock, warnings) is given, so it is tested alone
 * (test/hook-spool.spec.ts) as well as through the hook process.
 */
const { randomUUID } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** A new spool line for an event (its JSON on one line) with a fresh idempotency key. */
const spoolLine = (event, newKey = randomUUID) => `${newKey()} ${event}`;

/** A spooled line's key and body (a line of older versions is the JSON alone: it gets a key). */
function parseSpoolLine(line, newKey = randomUUID) {
  if (line.startsWith('{')) return { key: newKey(), body: line };
  const space = line.indexOf(' ');
  return { key: line.slice(0, space), body: line.slice(space + 1) };
}

/** The newest lines that fit in maxBytes (each with its newline), and how many older ones did not. */
function keepNewest(lines, maxBytes) {
  let total = 0;
  let first = lines.length;
  while (first > 0 && total + Buffer.byteLength(lines[first - 1]) + 1 <= maxBytes) {
    first -= 1;
    total += Buffer.byteLength(lines[first]) + 1;
  }
  return { kept: lines.slice(first), dropped: first };
}

/**
 * Sends the queue in order, stopping at the first event not taken ('failed': unreachable or an
 * error; 'refused': the credential); answers how many were taken.
 */
async function drain(queue, send) {
  let next = 0;
  while (next < queue.length) {
    const verdict = await send(queue[next], next);
    if (verdict === 'failed' || verdict === 'refused') break;
    next += 1;
  }
  return next;
}

function readLines(file) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch (error) {
    if (error.code === 'ENOENT') return [];
    throw error;
  }
}

/** The spool in `dir`. `now` is the clock, `warn` where a dropped event is reported. */
function openSpool({ dir, maxBytes, now = Date.now, warn = () => {}, lockStaleMs = 10000 }) {
  const file = path.join(dir, 'spool.jsonl');
  const lock = path.join(dir, 'spool.lock');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function tryLock() {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return true;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      try {
        if (now() - fs.statSync(lock).mtimeMs > lockStaleMs) fs.unlinkSync(lock);
      } catch {
        // gone meanwhile
      }
      return false;
    }
  }

  return {
    file,
    /** Takes the lock, trying for up to waitMs. */
    async lock(waitMs) {
      const until = now() + waitMs;
      for (;;) {
        if (tryLock()) return true;
        if (now() >= until) return false;
        await sleep(15);
      }
    },
    unlock() {
      try {
        fs.unlinkSync(lock);
      } catch {
        // already gone
      }
    },
    /** Leaves a line for the lock's holder (written under a temporary name, then renamed). */
    drop(line) {
      const name = `pending-${now().toString().padStart(15, '0')}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.jsonl`;
      const tmp = path.join(dir, `.${name}.tmp`);
      fs.writeFileSync(tmp, `${line}\n`);
      fs.renameSync(tmp, path.join(dir, name));
    },
    /**
     * Under the lock: the spooled lines, then the drop files' (in time order), then `line`; when
     * there was anything before it, all of it is written to the spool first and the drop files
     * removed — a crash after this leaves the events spooled (at worst twice), never lost.
     */
    queueWith(line) {
      const drops = fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('pending-') && f.endsWith('.jsonl'))
        .sort();
      const queue = [
        ...readLines(file),
        ...drops.flatMap((f) => readLines(path.join(dir, f))),
        line,
      ];
      if (queue.length > 1) {
        this.write(queue);
        for (const f of drops) fs.unlinkSync(path.join(dir, f));
      }
      return queue;
    },
    /** Replaces the spool atomically with the newest lines within maxBytes (none: no file). */
    write(lines) {
      const { kept, dropped } = keepNewest(lines, maxBytes);
      if (dropped > 0) warn(`spool full: dropped the ${dropped} oldest event(s)`);
      if (kept.length === 0) {
        try {
          fs.unlinkSync(file);
        } catch {
          // nothing spooled
        }
        return;
      }
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, kept.join('\n') + '\n');
      fs.renameSync(tmp, file);
    },
    lines: () => readLines(file),
  };
}

module.exports = { spoolLine, parseSpoolLine, keepNewest, drain, openSpool };
