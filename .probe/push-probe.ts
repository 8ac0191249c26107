import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { spawnGateway } from '../test/support/gateway-process';
import { freePort } from '../test/support/wait';
const SERVER = 'postgres://postgres@127.0.0.1:5432/test';
const KEY = 'probe-key-0123456789abcdef';
async function main() {
  const name = `ug_probe_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: SERVER }); await admin.connect(); await admin.query(`CREATE DATABASE ${name}`); await admin.end();
  const g = spawnGateway({ PORT: String(await freePort()), DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${name}`, API_KEYS: KEY }, { built: true });
  const url = await g.listening;
  let n = 0;
  const push = async (member: string) => {
    const entries = Array.from({ length: 100 }, (_, i) => ({ ts: Date.now() - i * 1000, model: 'claude-sonnet-4-5', input_tokens: 500, output_tokens: 0, cache_creation_tokens: 0, cache_read_tokens: 0, session_id: 's', project_path: 'Unknown Project', project: 'p', message_id: `m${n}`, request_id: `r${n++}` }));
    const t = performance.now();
    const res = await fetch(`${url}/api/usage/entries`, { method: 'POST', headers: { 'x-api-key': KEY, 'content-type': 'application/json' }, body: JSON.stringify({ machine: 'x', member, entries }) });
    await res.text();
    return performance.now() - t;
  };
  for (let i = 0; i < 10; i++) console.log('sequential', (await push('a')).toFixed(1));
  for (const c of [5, 10, 25, 50]) {
    const t = performance.now();
    const times = await Promise.all(Array.from({ length: c }, (_, i) => push(`m${i}`)));
    console.log(`concurrent ${c}: wall ${(performance.now() - t).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)}`);
  }
  g.child.kill('SIGTERM'); await g.exited;
  const c2 = new Client({ connectionString: SERVER }); await c2.connect(); await c2.query(`DROP DATABASE ${name} WITH (FORCE)`); await c2.end();
}
void main();
