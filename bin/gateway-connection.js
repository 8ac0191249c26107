/*
 * Where the hook sender, the status line and the push find their gateway (no dependencies).
 *
 * The environment wins: USAGE_GATEWAY_URL, and USAGE_GATEWAY_TOKEN / USAGE_GATEWAY_API_KEY, as a
 * shell that starts Claude Code sets them. A Claude Code started from an IDE or a desktop launcher
 * has none of the shell's variables, so `usage-gateway-hook install --url URL [--token-stdin |
 * --token-file PATH]` keeps the gateway's address and the member's token in the state folder
 * (`gateway.json`, file mode 0600, folder 0700), read when the variables are not set. The kept
 * token only ever goes to the kept address: a USAGE_GATEWAY_URL naming another gateway gets no
 * credential from the file. bridge/usage_push.py reads the same file by the same rules.
 */
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const DEFAULT_URL = 'http://127.0.0.1:3000';
/** A member token or JWT: printable ASCII, no spaces, at most this long. */
const MAX_TOKEN_LENGTH = 4096;
const TOKEN = /^[\x21-\x7e]+$/;

const stateDir = (env = process.env) =>
  env.USAGE_GATEWAY_SPOOL_DIR || path.join(os.homedir(), '.usage-gateway');
const connectionFile = (env = process.env) => path.join(stateDir(env), 'gateway.json');
const trimUrl = (url) => url.replace(/\/+$/, '');

/**
 * A gateway URL as it is kept and compared: http(s), no credentials, query or fragment, no
 * trailing slash. Throws an Error saying what is wrong.
 */
function normalizeUrl(text) {
  let url;
  try {
    url = new URL(String(text).trim());
  } catch {
    throw new Error(`not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`the gateway's URL must be http:// or https:// (got ${url.protocol})`);
  if (url.username || url.password)
    throw new Error("the gateway's URL must not hold credentials (give the token separately)");
  if (url.search || url.hash)
    throw new Error("the gateway's URL must not have a query or a fragment");
  return trimUrl(url.href);
}

/** A token read from stdin or a file: one line, trimmed; throws when it cannot be one. */
function checkToken(text) {
  const token = String(text).trim();
  if (!token) throw new Error('the token is empty');
  if (token.length > MAX_TOKEN_LENGTH)
    throw new Error(`the token is longer than ${MAX_TOKEN_LENGTH} characters`);
  if (!TOKEN.test(token)) throw new Error('the token holds spaces or characters other than ASCII');
  return token;
}

/** What install kept, or undefined (missing, unreadable or not ours). */
function readKept(env = process.env) {
  try {
    const kept = JSON.parse(fs.readFileSync(connectionFile(env), 'utf8'));
    if (!kept || typeof kept.url !== 'string') return undefined;
    return { url: kept.url, token: typeof kept.token === 'string' ? kept.token : undefined };
  } catch {
    return undefined;
  }
}

/**
 * The gateway to talk to: `{ url, token, apiKey, from }`, `from` naming where the credential came
 * from for messages ('environment', the kept file's path, or undefined when there is none).
 */
function resolveConnection(env = process.env) {
  const kept = readKept(env);
  const url = trimUrl(env.USAGE_GATEWAY_URL || (kept && kept.url) || DEFAULT_URL);
  if (env.USAGE_GATEWAY_TOKEN || env.USAGE_GATEWAY_API_KEY)
    return {
      url,
      token: env.USAGE_GATEWAY_TOKEN || undefined,
      apiKey: env.USAGE_GATEWAY_API_KEY || undefined,
      from: 'environment',
    };
  if (kept && kept.token && trimUrl(kept.url) === url)
    return { url, token: kept.token, apiKey: undefined, from: connectionFile(env) };
  return { url, token: undefined, apiKey: undefined, from: undefined };
}

/** The credential headers of a connection (a member token is a bearer; a key is X-API-Key). */
function credentialHeaders(connection) {
  const headers = {};
  if (connection.token) headers.authorization = `Bearer ${connection.token}`;
  if (connection.apiKey) headers['x-api-key'] = connection.apiKey;
  return headers;
}

/** Keeps the gateway's URL (and token): written 0600 beside, then renamed over the old file. */
function writeKept(env, { url, token }) {
  const file = connectionFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  const body = JSON.stringify(token ? { url, token } : { url }) + '\n';
  fs.writeFileSync(temporary, body, { mode: 0o600, flag: 'w' });
  fs.chmodSync(temporary, 0o600); // an old temp file keeps its mode through `w`
  fs.renameSync(temporary, file);
  return file;
}

/** Removes what install kept; true when there was a file. */
function removeKept(env = process.env) {
  const file = connectionFile(env);
  if (!fs.existsSync(file)) return false;
  fs.rmSync(file, { force: true });
  return true;
}

module.exports = {
  DEFAULT_URL,
  checkToken,
  connectionFile,
  credentialHeaders,
  normalizeUrl,
  readKept,
  removeKept,
  resolveConnection,
  stateDir,
  writeKept,
};
