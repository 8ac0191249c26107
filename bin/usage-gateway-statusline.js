/*
 * `usage-gateway-hook statusline` — the command Claude Code runs for its status line (DESIGN §8).
 * No dependencies.
 *
 * Reads Claude Code's status line JSON on stdin (session_id, model, workspace, …), asks the
 * gateway's GET /api/usage/statusline?session_id=… and prints one line:
 *
 *   Opus 4.1 · $1.23 session · $12.34 today · $3.21 block (2h 13m left) · $4.56/h · 37% of max5
 *
 * It never holds Claude Code up: whatever happens, a line is printed within 300 ms. When the
 * gateway does not answer in time, the last line it printed (for this session, else any) is shown
 * with its age ("· stale 3m"), or "usage-gateway offline" when there is none. Colours (by how close
 * the plan limit is) unless NO_COLOR is set, or stdout is not a terminal and FORCE_COLOR is unset
 * (`install --statusline` sets FORCE_COLOR=1: Claude Code shows colours through a pipe).
 *
 * Environment: USAGE_GATEWAY_URL, USAGE_GATEWAY_TOKEN, USAGE_GATEWAY_API_KEY (as for `send`),
 * USAGE_GATEWAY_SPOOL_DIR (where the last lines are kept: statusline.json).
 */
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

/**
 * Claude Code waits for the line: 300 ms by default. USAGE_GATEWAY_STATUSLINE_DEADLINE_MS
 * (50–10000) changes it, for a slow link — and for tests on a loaded machine, which check the
 * figures, not the clock.
 */
const DEADLINE_MS = Math.min(
  10_000,
  Math.max(50, Number(process.env.USAGE_GATEWAY_STATUSLINE_DEADLINE_MS) || 300),
);
const KEEP_SESSIONS = 50;

const env = process.env;
const BASE = (env.USAGE_GATEWAY_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const STATE_DIR = env.USAGE_GATEWAY_SPOOL_DIR || path.join(os.homedir(), '.usage-gateway');
const STATE = path.join(STATE_DIR, 'statusline.json');

function useColour() {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(process.stdout.isTTY);
}

const ANSI = { green: 32, yellow: 33, red: 31, dim: 2 };
const paint = (colour, text) => (useColour() ? `\x1b[${ANSI[colour]}m${text}\x1b[0m` : text);

const money = (n) => `$${(Number(n) || 0).toFixed(2)}`;

function duration(minutes) {
  const m = Math.max(0, Math.round(minutes));
  return m >= 60 ? `${Math.floor(m / 60)}h ${m % 60}m` : `${m}m`;
}

function age(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** The line for a gateway answer and Claude Code's input. */
function format(figures, input, source, dataAgeSeconds) {
  const model = (input.model && (input.model.display_name || input.model.id)) || 'Claude';
  const parts = [model];
  if (figures.session) parts.push(`${money(figures.session.cost_usd)} session`);
  parts.push(`${money(figures.today.cost_usd)} today`);
  const pct = Number(figures.limit.percentage) || 0;
  const level = pct >= 80 ? 'red' : pct >= 50 ? 'yellow' : 'green';
  if (figures.block)
    parts.push(
      paint(
        level,
        `${money(figures.block.cost_usd)} block (${duration(figures.block.minutes_left)} left)`,
      ),
    );
  else parts.push('no active block');
  if (figures.burn_rate) parts.push(`${money(figures.burn_rate.cost_per_hour)}/h`);
  parts.push(paint(level, `${Math.round(pct)}% of ${figures.limit.plan}`));
  if (source === 'default') parts.push(paint('dim', 'no usage data yet'));
  else if (source !== 'bridge' && source !== 'cache' && dataAgeSeconds !== undefined)
    parts.push(paint('dim', `data ${age(dataAgeSeconds * 1000)} old`));
  return parts.join(' · ');
}

function readState() {
  try {
    const state = JSON.parse(fs.readFileSync(STATE, 'utf8'));
    return state && typeof state === 'object' && state.sessions ? state : { sessions: {} };
  } catch {
    return { sessions: {} };
  }
}

function remember(sessionId, line) {
  try {
    const state = readState();
    state.sessions[sessionId || '-'] = { line, at: Date.now() };
    const kept = Object.entries(state.sessions)
      .sort((a, b) => b[1].at - a[1].at)
      .slice(0, KEEP_SESSIONS);
    state.sessions = Object.fromEntries(kept);
    fs.mkdirSync(STATE_DIR, { recursive: true });
    const temporary = `${STATE}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(state));
    fs.renameSync(temporary, STATE);
  } catch {
    // a status line without memory is still a status line
  }
}

/** The last line shown (this session's, else the newest of any), with its age; or offline. */
function stale(sessionId) {
  const sessions = readState().sessions;
  const last = sessions[sessionId || '-'] || Object.values(sessions).sort((a, b) => b.at - a.at)[0];
  if (!last || typeof last.line !== 'string') return paint('dim', 'usage-gateway offline');
  // The line was kept as shown; NO_COLOR now means no colour in it either.
  // eslint-disable-next-line no-control-regex
  const line = useColour() ? last.line : last.line.replace(/\x1b\[[0-9;]*m/g, '');
  return `${line} · ${paint('dim', `stale ${age(Date.now() - last.at)}`)}`;
}

function fetchFigures(sessionId, timeoutMs) {
  return new Promise((resolve, reject) => {
    const url = new URL(`${BASE}/api/usage/statusline`);
    if (sessionId) url.searchParams.set('session_id', sessionId);
    const headers = { accept: 'application/json' };
    if (env.USAGE_GATEWAY_TOKEN) headers.authorization = `Bearer ${env.USAGE_GATEWAY_TOKEN}`;
    if (env.USAGE_GATEWAY_API_KEY) headers['x-api-key'] = env.USAGE_GATEWAY_API_KEY;
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.get(url, { headers, timeout: timeoutMs }, (response) => {
      const chunks = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => {
        if (response.statusCode === 401 || response.statusCode === 403)
          return reject(Object.assign(new Error('refused'), { refused: true }));
        if (response.statusCode !== 200)
          return reject(new Error(`gateway answered ${response.statusCode}`));
        try {
          resolve({
            figures: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            source: response.headers['x-data-source'],
            dataAge: Number(response.headers['x-data-age'] ?? 0),
          });
        } catch (error) {
          reject(error);
        }
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

function readStdin(timeoutMs) {
  return new Promise((resolve) => {
    if (process.stdin.isTTY) return resolve('');
    const chunks = [];
    const done = () => resolve(Buffer.concat(chunks).toString('utf8'));
    const timer = setTimeout(done, timeoutMs);
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => {
      clearTimeout(timer);
      done();
    });
    process.stdin.on('error', () => {
      clearTimeout(timer);
      done();
    });
  });
}

/** Prints exactly one line, within DEADLINE_MS of `started`, then exits 0. */
async function main(started = performance.timeOrigin) {
  let printed = false;
  let sessionId;
  const print = (line) => {
    if (printed) return;
    printed = true;
    process.stdout.write(`${line}\n`, () => process.exit(0));
  };
  // The hard deadline: whatever is still pending, the stale line goes out.
  const hard = setTimeout(
    () => print(stale(sessionId)),
    Math.max(0, DEADLINE_MS - (Date.now() - started) - 15),
  );
  hard.unref();
  let input = {};
  try {
    input = JSON.parse((await readStdin(DEADLINE_MS / 3)) || '{}');
  } catch {
    input = {};
  }
  sessionId =
    typeof input.session_id === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(input.session_id)
      ? input.session_id
      : undefined;
  try {
    const left = DEADLINE_MS - (Date.now() - started) - 25;
    if (left <= 0) throw new Error('out of time');
    const { figures, source, dataAge } = await fetchFigures(sessionId, left);
    const line = format(figures, input, source, dataAge);
    if (!printed) remember(sessionId, line);
    print(line);
  } catch (error) {
    // A refused credential is said plainly: waiting will not fix it.
    if (error && error.refused)
      print(
        paint(
          'red',
          'usage-gateway: credential refused (USAGE_GATEWAY_TOKEN / USAGE_GATEWAY_API_KEY)',
        ),
      );
    else print(stale(sessionId));
  }
}

module.exports = { main, format };
