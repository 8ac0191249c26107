import type BetterSqlite3 from 'better-sqlite3';

/**
 * The better-sqlite3 build for the running Node.js. 12.x (a classic `node::ObjectWrap` addon)
 * aborts the process on Node ≥ 24.19 when the garbage collector frees a statement outside a
 * JavaScript context (`RemoveEnvironmentCleanupHook: Assertion failed: (env) != nullptr`, seen in
 * CI and reported upstream as WiseLibs/better-sqlite3#1515); 13.x is a Node-API 10 addon, which
 * Node 20 does not have (it crashes there). Both are installed — 13 under the alias
 * `better-sqlite3-napi` — and Node-API 10 gets 13; tests open their files through this too. 12
 * stays while TypeORM (1.1.1) declares `better-sqlite3@^12` its optional peer: 13 under its own
 * name makes `npm install` fail (ERESOLVE, tried) although `npm ci` passes.
 */
export function sqliteDriver(): typeof BetterSqlite3 {
  /* eslint-disable @typescript-eslint/no-require-imports -- chosen at run time, by design */
  return Number(process.versions.napi) >= 10
    ? (require('better-sqlite3-napi') as typeof BetterSqlite3)
    : (require('better-sqlite3') as typeof BetterSqlite3);
  /* eslint-enable @typescript-eslint/no-require-imports */
}
