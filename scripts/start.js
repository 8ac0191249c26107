#!/usr/bin/env node
'use strict';
/**
 * `npm start`: say at once what would stop the gateway (a bad setting, a port in use), build only
 * when the sources are newer than the build, then run the built gateway in this process.
 *
 * Why not `prestart: npm run build`: a second `npm start` rebuilt — and wiped — `dist/` under the
 * running server (its `/` answered 404 for seconds), and a typo in PORT was reported only after
 * a 20 s build. Now the port and the settings are checked first (from the existing build, or the
 * fields that need no build), and a build never empties `dist/` (nest-cli `deleteOutDir: false`,
 * vite `emptyOutDir: false`), so a server still running from it keeps its files.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const DIST_MAIN = path.join(ROOT, 'dist', 'main.js');
const DIST_INDEX = path.join(ROOT, 'dist', 'web', 'index.html');
const SOURCES = [
  'src',
  'web',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
];

function refuse(message) {
  process.stderr.write(`usage-gateway: ${message}\n`);
  process.exit(1);
}

function newest(target) {
  let stat;
  try {
    stat = fs.statSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of fs.readdirSync(target)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    latest = Math.max(latest, newest(path.join(target, entry)));
  }
  return latest;
}

function builtAt() {
  try {
    return Math.min(fs.statSync(DIST_MAIN).mtimeMs, fs.statSync(DIST_INDEX).mtimeMs);
  } catch {
    return 0;
  }
}

/** The settings, validated by the gateway's own code (needs a build). One line per problem. */
function loadConfig() {
  const { loadConfig: load, ConfigValidationError } = require(
    path.join(ROOT, 'dist', 'config', 'load-config.js'),
  );
  try {
    return load(process.env);
  } catch (error) {
    if (error instanceof ConfigValidationError) refuse(error.message);
    throw error;
  }
}

/** Before any build: the two settings `npm start` itself needs, in the schema's words. */
function listenSettings() {
  const port = (process.env.PORT ?? '3000').trim();
  if (!/^\d+$/.test(port) || Number(port) > 65535)
    refuse(`PORT=${JSON.stringify(process.env.PORT)}: must be a whole number from 0 to 65535`);
  return { port: Number(port), host: (process.env.HOST ?? '127.0.0.1').trim() || '127.0.0.1' };
}

function portFree(port, host) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (error) => resolve(error.code === 'EADDRINUSE' ? false : true));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

function isGateway(url) {
  return new Promise((resolve) => {
    const req = http.get(`${url}/health/live`, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    // Something that accepts and never answers is not a gateway.
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', () => resolve(false));
    req.on('close', () => resolve(false));
  });
}

async function checkPort({ port, host }) {
  if (port === 0 || (await portFree(port, host))) return;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (await isGateway(url))
    refuse(
      `a usage-gateway is already running at ${url}/ (its dashboard); stop it first, or start this one with another PORT`,
    );
  refuse(`port ${port} on ${host} is already in use by another program: stop it or set PORT`);
}

async function main() {
  const sourcesAt = Math.max(...SOURCES.map((s) => newest(path.join(ROOT, s))));
  const built = builtAt();
  // With a build at hand, the full settings check comes first; without one, what needs no build.
  await checkPort(built ? loadConfig().server : listenSettings());
  if (sourcesAt > built) {
    process.stderr.write(
      built ? 'usage-gateway: sources changed, rebuilding…\n' : 'usage-gateway: building…\n',
    );
    const npm = process.env.npm_execpath
      ? [process.execPath, [process.env.npm_execpath]]
      : ['npm', []];
    const result = spawnSync(npm[0], [...npm[1], 'run', '--silent', 'build'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (result.status !== 0) refuse('the build failed (its errors are above)');
    await checkPort(loadConfig().server);
  }
  require(DIST_MAIN);
}

main().catch((error) => refuse(error instanceof Error ? error.message : String(error)));
