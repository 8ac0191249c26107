/*
 * `usage-gateway-hook install | uninstall` — merges the hook sender into Claude Code's
 * settings.json (docs/design.md §8), and takes out exactly what it put in. No dependencies.
 *
 *   usage-gateway-hook install [--project DIR] [--events A,B,…] [--statusline [--force]] [--push]
 *                              [--url URL [--token-stdin | --token-file PATH]] [--dry-run]
 *   usage-gateway-hook uninstall [--project DIR] [--dry-run]
 *
 * --url keeps the gateway's address (and, read from stdin or a file, never from the command line,
 * the member's token) in the state folder for hooks that run without the shell's variables
 * (gateway-connection.js); uninstall removes it.
 *
 * --statusline also sets Claude Code's `statusLine` to `usage-gateway-hook statusline`, but never
 * replaces a different one the user has unless --force is given (the backup keeps the old one).
 *
 * The file is ~/.claude/settings.json, or DIR/.claude/settings.json with --project. Every other
 * hook and setting is kept as it was (order and indentation included; uninstall gives back the file
 * as it was before install, byte for byte, when nothing else changed since); a timestamped backup is
 * written next to the file before any change; a file that is not valid JSON is refused and left
 * alone. A second install changes nothing. Unlike `send`, these talk to the user: stdout, exit 1
 * on a refusal.
 */
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
  checkToken,
  connectionFile,
  normalizeUrl,
  readKept,
  removeKept,
  stateDir,
  writeKept,
} = require('./gateway-connection');

/** Every event Claude Code sends to command hooks that the gateway stores. */
const DEFAULT_EVENTS = [
  'SessionStart',
  'SessionEnd',
  'UserPromptSubmit',
  'PreToolUse',
  'PostToolUse',
  'PostToolUseFailure',
  'PermissionRequest',
  'Notification',
  'Stop',
  'StopFailure',
  'SubagentStart',
  'SubagentStop',
  'PreCompact',
  'PostCompact',
];
const EVENT_NAME = /^[A-Z][A-Za-z]{1,40}$/;

class Refusal extends Error {}

function parseArgs(argv) {
  const options = {
    project: undefined,
    events: DEFAULT_EVENTS,
    dryRun: false,
    statusline: false,
    force: false,
    push: false,
    url: undefined,
    tokenFrom: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new Refusal(`${arg} needs a value`);
      return next;
    };
    if (arg === '--dry-run') options.dryRun = true;
    else if (arg === '--statusline') options.statusline = true;
    else if (arg === '--force') options.force = true;
    else if (arg === '--push') options.push = true;
    else if (arg === '--url') {
      try {
        options.url = normalizeUrl(value());
      } catch (error) {
        throw new Refusal(`--url: ${error.message}`);
      }
    } else if (arg === '--token-stdin') options.tokenFrom = { stdin: true };
    else if (arg === '--token-file') options.tokenFrom = { file: value() };
    else if (arg === '--token')
      throw new Refusal(
        '--token would leave the token in your shell history and the process list: use --token-stdin or --token-file PATH',
      );
    else if (arg === '--project') options.project = path.resolve(value());
    else if (arg === '--events') {
      const events = value()
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      const bad = events.filter((e) => !EVENT_NAME.test(e));
      if (!events.length || bad.length)
        throw new Refusal(`--events: not event names: ${bad.join(', ') || '(none given)'}`);
      options.events = [...new Set(events)];
    } else throw new Refusal(`unknown option ${arg}`);
  }
  if (options.tokenFrom && !options.url)
    throw new Refusal(
      '--token-stdin and --token-file go with --url (the gateway the token is for)',
    );
  return options;
}

/** The command Claude Code runs: this installation's sender, by absolute path. */
function senderCommand() {
  const sender = path.resolve(__dirname, 'usage-gateway-hook');
  return /[\s"'$`\\]/.test(sender) ? JSON.stringify(sender) : sender;
}

/** The status line command: colours on (Claude Code shows ANSI colours; its stdout is a pipe). */
function statuslineCommand() {
  return `FORCE_COLOR=1 ${senderCommand()} statusline`;
}

function settingsPath(options) {
  const base = options.project ? path.join(options.project, '.claude') : claudeHome();
  return path.join(base, 'settings.json');
}

function claudeHome() {
  // Claude Code's own override of ~/.claude, when set (the first of a list).
  const configured = (process.env.CLAUDE_CONFIG_DIR || '').split(',')[0].trim();
  return configured || path.join(os.homedir(), '.claude');
}

/** The file's text and its parsed settings; a missing file is an empty one. */
function read(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return { text: undefined, settings: {} };
    throw error;
  }
  let settings;
  try {
    settings = text.trim() === '' ? {} : JSON.parse(text);
  } catch (error) {
    throw new Refusal(`${file} is not valid JSON (${error.message}); it was left untouched`);
  }
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings))
    throw new Refusal(`${file} does not hold a JSON object; it was left untouched`);
  if (
    settings.hooks !== undefined &&
    (typeof settings.hooks !== 'object' || settings.hooks === null || Array.isArray(settings.hooks))
  )
    throw new Refusal(`${file}: "hooks" is not an object; it was left untouched`);
  return { text, settings };
}

/** The indentation the file uses (two spaces when it has none yet). */
function indentOf(text) {
  const match = text && /\n([ \t]+)"/.exec(text);
  return match ? match[1] : '  ';
}

const isOurs = (handler, command) =>
  handler &&
  typeof handler === 'object' &&
  handler.type === 'command' &&
  handler.command === command;

function install(settings, events, command) {
  const added = [];
  const hooks = settings.hooks === undefined ? {} : settings.hooks;
  for (const event of events) {
    const groups = Array.isArray(hooks[event]) ? hooks[event] : undefined;
    if (hooks[event] !== undefined && !groups)
      throw new Refusal(`"hooks.${event}" is not a list; nothing was changed`);
    const present = (groups || []).some(
      (group) => group && Array.isArray(group.hooks) && group.hooks.some((h) => isOurs(h, command)),
    );
    if (present) continue;
    hooks[event] = [...(groups || []), { hooks: [{ type: 'command', command, async: true }] }];
    added.push(event);
  }
  if (added.length && settings.hooks === undefined) settings.hooks = hooks;
  return added;
}

/** Where a status line replaced with --force is kept, for uninstall to put back. */
const replacedStatuslineOf = (file) => `${file}.usage-gateway-statusline.json`;

/**
 * Sets our status line; a different one stays unless forced. Returns what it replaced (null:
 * none), or false when ours is there already.
 */
function installStatusline(settings, force, file) {
  const wanted = { type: 'command', command: statuslineCommand(), padding: 0 };
  const current = settings.statusLine;
  if (current && current.command === wanted.command) return false;
  if (current !== undefined && !force)
    throw new Refusal(
      `${file} already has a statusLine (${JSON.stringify(current.command ?? current)}); ` +
        'nothing was changed — run again with --force to replace it (a backup keeps the old one)',
    );
  settings.statusLine = wanted;
  return current === undefined ? null : current;
}

function uninstall(settings, command, replaced) {
  const removed = [];
  if (settings.statusLine && settings.statusLine.command === statuslineCommand()) {
    // The user's own status line comes back, in its place, if --force replaced one.
    if (replaced !== undefined) settings.statusLine = replaced;
    else delete settings.statusLine;
    removed.push('statusLine');
  }
  const hooks = settings.hooks;
  if (!hooks) return removed;
  for (const event of Object.keys(hooks)) {
    const groups = hooks[event];
    if (!Array.isArray(groups)) continue;
    let touched = false;
    const kept = [];
    for (const group of groups) {
      if (!group || !Array.isArray(group.hooks) || !group.hooks.some((h) => isOurs(h, command))) {
        kept.push(group);
        continue;
      }
      touched = true;
      const others = group.hooks.filter((h) => !isOurs(h, command));
      // A group install made holds only our handler: it goes; a user's group keeps the rest.
      if (others.length) kept.push({ ...group, hooks: others });
    }
    if (!touched) continue;
    removed.push(event);
    if (kept.length) hooks[event] = kept;
    else delete hooks[event];
  }
  if (removed.length && Object.keys(hooks).length === 0) delete settings.hooks;
  return removed;
}

/** Whether two parsed JSON values are the same (key order aside). */
function sameJson(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson(a[k], b[k]));
}

/**
 * The file as the user wrote it, when uninstall leaves exactly what it held before install: the
 * newest backup with that content, byte for byte (a hand-formatted file keeps its compact arrays
 * and spacing, which re-serializing would lose). Undefined when there is none.
 */
function formattedAsBefore(file, settings) {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.backup-`;
  let names;
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => n.startsWith(prefix))
      .sort()
      .reverse();
  } catch {
    return undefined;
  }
  for (const name of names) {
    try {
      const text = fs.readFileSync(path.join(dir, name), 'utf8');
      if (sameJson(JSON.parse(text), settings)) return text;
    } catch {
      // not a backup we can read: look at the next one
    }
  }
  return undefined;
}

function timestamp() {
  return new Date().toISOString().replace(/[-:]/g, '');
}

/** The mark `install --push` leaves for the hook sender (and the push's start time). */
function pushMarkPath() {
  return path.join(stateDir(), 'push.json');
}

/** The member's token, from stdin or a file (--token-stdin, --token-file). */
function readToken(from) {
  let text;
  try {
    text = from.stdin ? fs.readFileSync(0, 'utf8') : fs.readFileSync(from.file, 'utf8');
  } catch (error) {
    throw new Refusal(
      `cannot read the token from ${from.stdin ? 'stdin' : from.file} (${error.code || error.message})`,
    );
  }
  try {
    return checkToken(text);
  } catch (error) {
    throw new Refusal(`${from.stdin ? '--token-stdin' : '--token-file'}: ${error.message}`);
  }
}

/**
 * install --url: the gateway's address and token, kept where the hooks find them when Claude Code
 * runs without the shell's variables; uninstall removes them.
 */
function keepConnection(action, options, out) {
  const file = connectionFile();
  if (action === 'uninstall') {
    if (options.dryRun) {
      if (readKept()) out.write(`${file}: would be removed (dry run)\n`);
    } else if (removeKept()) out.write(`${file}: removed (the gateway's URL and token)\n`);
    return;
  }
  if (!options.url) return;
  const token = options.tokenFrom ? readToken(options.tokenFrom) : undefined;
  const what = token ? "the gateway's URL and your token" : "the gateway's URL";
  if (options.dryRun) return out.write(`${file}: would keep ${what} (dry run)\n`);
  writeKept(process.env, { url: options.url, token });
  out.write(
    `${file}: keeps ${what} (${options.url}; mode 0600) for hooks started without USAGE_GATEWAY_URL\n`,
  );
  const { hostname, protocol } = new URL(options.url);
  const loopback = hostname === 'localhost' || hostname === '[::1]' || hostname.startsWith('127.');
  if (token && protocol === 'http:' && !loopback)
    out.write(
      `warning: ${options.url} is plain http: the token crosses the network unencrypted; prefer https\n`,
    );
}

/**
 * install --push: Stop and SessionEnd hooks push the session's usage lines (docs/design.md §9) from
 * now on; uninstall takes the mark away. The hooks themselves are the same ones.
 */
function markPush(action, options, out) {
  const mark = pushMarkPath();
  if (action === 'install' && options.push) {
    if (fs.existsSync(mark)) return;
    if (options.dryRun) return out.write(`${mark}: would be written (dry run)\n`);
    fs.mkdirSync(path.dirname(mark), { recursive: true, mode: 0o700 });
    fs.writeFileSync(mark, JSON.stringify({ enabled_at: Date.now() }) + '\n');
    out.write(
      `${mark}: Stop and SessionEnd push the session's usage to the gateway (usage-gateway-hook push --all sends the history)\n`,
    );
  } else if (action === 'uninstall' && fs.existsSync(mark) && !options.dryRun) {
    fs.rmSync(mark, { force: true });
    out.write(`${mark}: removed (no more pushes from hooks)\n`);
  }
}

function run(action, argv, out = process.stdout) {
  const options = parseArgs(argv);
  keepConnection(action, options, out);
  markPush(action, options, out);
  const file = settingsPath(options);
  const command = senderCommand();
  const { text, settings } = read(file);
  const sidecar = replacedStatuslineOf(file);
  let replaced;
  try {
    replaced = JSON.parse(fs.readFileSync(sidecar, 'utf8')).statusLine;
  } catch {
    replaced = undefined;
  }
  const changed =
    action === 'install'
      ? install(settings, options.events, command)
      : uninstall(settings, command, replaced);
  let replacing = false;
  if (action === 'install' && options.statusline) {
    const previous = installStatusline(settings, options.force, file);
    if (previous !== false) changed.push('statusLine');
    replacing = previous !== false && previous !== null;
    if (replacing) replaced = previous;
  }
  const verb = action === 'install' ? 'adds' : 'removes';
  if (!changed.length) {
    out.write(
      `${file}: nothing to do (${action === 'install' ? 'already installed' : 'not installed'})\n`,
    );
    return 0;
  }
  const next =
    (action === 'uninstall' && formattedAsBefore(file, settings)) ||
    JSON.stringify(settings, null, indentOf(text)) + '\n';
  if (options.dryRun) {
    out.write(
      `${file}: ${action} ${verb} the hook for ${changed.join(', ')} (dry run: nothing written)\n`,
    );
    out.write(next);
    return 0;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Nothing left but what install made: no file, as before it.
  const empty = Object.keys(settings).length === 0;
  if (text !== undefined) {
    const backup = `${file}.backup-${timestamp()}`;
    fs.writeFileSync(backup, text, { flag: 'wx' });
    out.write(`${file}: backed up to ${backup}\n`);
  }
  if (replacing) fs.writeFileSync(sidecar, JSON.stringify({ statusLine: replaced }) + '\n');
  if (action === 'uninstall' && changed.includes('statusLine')) fs.rmSync(sidecar, { force: true });
  // Written beside the file, then renamed over it: a crash never leaves half a settings file.
  if (empty) fs.unlinkSync(file);
  else {
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, next);
    fs.renameSync(temporary, file);
  }
  const done = action === 'install' ? 'added' : 'removed';
  out.write(`${file}: ${done} the hook for ${changed.join(', ')} (${command})\n`);
  return 0;
}

/** Entry from usage-gateway-hook; resolves with the exit code. */
function main(action, argv) {
  try {
    return run(action, argv);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    process.stderr.write(`usage-gateway-hook ${action}: ${error.message}\n`);
    return 1;
  }
}

module.exports = { main, DEFAULT_EVENTS };
