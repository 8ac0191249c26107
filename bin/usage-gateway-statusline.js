/*
 * `usage-gateway-hook statusline` — the command Claude Code runs for its status line (docs/design.md §8).
 * No dependencies.
 *
 * Reads Claude Code's status line JSON on stdin (session_id, model, rate_limits, …), forwards
 * what the gateway keeps (its official 5-hour and 7-day limits among it) in its one request,
 * POST /api/usage/statusline, and prints one line:
 *
 *   Opus 4.1 · $1.23 session · $12.34 today · $3.21 block (2h 13m left) · $4.56/h · 5h 42% ↻14:00 · 7d 18%
 *
 * The official figures come from Claude Code (Pro/Max, after the first answer of a session);
 * without them the plan estimate is shown, marked `~`: `~37% of max5`.
 *
 * It never holds Claude Code up: whatever happens, a line is printed within 300 ms. When the
 * gateway does not answer in time, the last line it printed (for this session, else any) is shown
 * with its age ("· stale 3m"), or "usage-gateway offline" when there is none. Colours (by how close
 * the plan limit is) unless NO_COLOR is set, or stdout is not a terminal and FORCE_COLOR is unset
 * (`install --statusline` sets FORCE_COLOR=1: Claude Code shows colours through a pipe).
 *
 * Environment: USAGE_GATEWAY_URL, USAGE_GATEWAY_TOKEN, USAGE_GATEWAY_API_KEY (as for `send`; else
 * what `install --url` kept),
 * USAGE_GATEWAY_SPOOL_DIR (where the last lines are kept: statusline.json).
 */
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const { credentialHeaders, resolveConnection, stateDir } = require('./gateway-connection');

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
const CONNECTION = resolveConnection(env);
const BASE = CONNECTION.url;
const STATE_DIR = stateDir(env);
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

/** HH:MM of an ISO time, in this machine's zone (when a window resets). */
function clock(iso) {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** The official windows Claude Code reported, as the line shows them (none: null). */
function official(figures) {
  const o = figures.official || {};
  const parts = [];
  if (o.five_hour)
    parts.push(`5h ${Math.round(o.five_hour.used_percentage)}% ↻${clock(o.five_hour.resets_at)}`);
  if (o.seven_day) parts.push(`7d ${Math.round(o.seven_day.used_percentage)}%`);
  if (parts.length === 0) return null;
  const pct = Math.max(
    o.five_hour ? o.five_hour.used_percentage : 0,
    o.seven_day ? o.seven_day.used_percentage : 0,
  );
  return { text: parts.join(' · '), pct };
}

/** The line for a gateway answer and Claude Code's input. */
function format(figures, input, source, dataAgeSeconds) {
  const model = (input.model && (input.model.display_name || input.model.id)) || 'Claude';
  const parts = [model];
  if (figures.session) parts.push(`${money(figures.session.cost_usd)} session`);
  parts.push(`${money(figures.today.cost_usd)} today`);
  const real = official(figures);
  const pct = real ? real.pct : Number(figures.limit.percentage) || 0;
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
  // Claude Code's own figures when it gave them; else our estimate, marked as one.
  parts.push(paint(level, real ? real.text : `~${Math.round(pct)}% of ${figures.limit.plan}`));
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

const isNumber = (v, low, high) =>
  typeof v === 'number' && Number.isFinite(v) && v >= low && v <= high;

/** A `rate_limits` window the gateway accepts, or undefined. */
function window(w) {
  return w &&
    isNumber(w.used_percentage, 0, 100) &&
    Number.isInteger(w.resets_at) &&
    isNumber(w.resets_at, 1.5e9, 4e9)
    ? { used_percentage: w.used_percentage, resets_at: w.resets_at }
    : undefined;
}

/** What the gateway keeps of Claude Code's input (only fields it knows, each checked). */
function forwarded(input, sessionId) {
  const body = {};
  if (sessionId) body.session_id = sessionId;
  const limits = input.rate_limits || {};
  const five = window(limits.five_hour);
  const seven = window(limits.seven_day);
  if (five || seven)
    body.rate_limits = { ...(five && { five_hour: five }), ...(seven && { seven_day: seven }) };
  if (input.model && typeof input.model.id === 'string' && input.model.id.length <= 128)
    body.model_id = input.model.id;
  const context = input.context_window && input.context_window.used_percentage;
  if (isNumber(context, 0, 100)) body.context_used_percentage = context;
  const cost = input.cost && input.cost.total_cost_usd;
  if (isNumber(cost, 0, 1e6)) body.session_cost_usd = cost;
  if (typeof input.version === 'string' && input.version.length <= 32) body.version = input.version;
  return body;
}

function fetchFigures(body, timeoutMs) {
  return new Promise((resolve, reject) => {
    const url = new URL(`${BASE}/api/usage/statusline`);
    const payload = JSON.stringify(body);
    const headers = {
      accept: 'application/json',
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      ...credentialHeaders(CONNECTION),
    };
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(
      url,
      { method: 'POST', headers, timeout: timeoutMs },
      (response) => {
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
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end(payload);
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
    const { figures, source, dataAge } = await fetchFigures(forwarded(input, sessionId), left);
    const line = format(figures, input, source, dataAge);
    if (!printed) remember(sessionId, line);
    print(line);
  } catch (error) {
    // A refused credential is said plainly: waiting will not fix it.
    if (error && error.refused)
      print(
        paint(
          'red',
          CONNECTION.from && CONNECTION.from !== 'environment'
            ? `usage-gateway: credential refused (the token kept in ${CONNECTION.from})`
            : 'usage-gateway: credential refused (USAGE_GATEWAY_TOKEN / USAGE_GATEWAY_API_KEY)',
        ),
      );
    else print(stale(sessionId));
  }
}

module.exports = { main, format, forwarded };
