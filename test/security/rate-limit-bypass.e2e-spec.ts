import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from '../support/databases';
import { startTestApp, type RunningApp } from '../support/test-app';
import { signJwt } from '../support/tokens';

const KEY = `valid-${randomBytes(12).toString('hex')}`;
const SECRET = 'rate-limit-bypass-secret-long-enough!!';
const LIMIT = 40;

describe('a flood of made-up credentials is limited by address', () => {
  let db: TestDatabase;
  let app: RunningApp;
  beforeAll(async () => {
    db = createSqliteDatabase();
    app = await startTestApp({
      ...db.env,
      API_KEYS: KEY,
      AUTH_JWT_SECRET: SECRET,
      RATE_LIMIT_READS_PER_MIN: String(LIMIT),
    });
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('counts every refused key against the address: 429 after the limit, not a fresh budget per key', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT * 3; i++) {
      const res = await fetch(`${app.url}/api/events?limit=1`, {
        headers: { 'x-api-key': `made-up-${randomBytes(8).toString('hex')}` },
      });
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(LIMIT * 2);
    // Made-up bearer tokens too (the address's budget is spent).
    const forged = await fetch(`${app.url}/api/events?limit=1`, {
      headers: { authorization: `Bearer ${randomBytes(30).toString('base64url')}` },
    });
    expect(forged.status).toBe(429);
  });

  it('gives a verified credential its own budget, which the flood did not touch', async () => {
    for (let i = 0; i < LIMIT; i++)
      expect(
        (await fetch(`${app.url}/api/events?limit=1`, { headers: { 'x-api-key': KEY } })).status,
      ).toBe(200);
    expect(
      (await fetch(`${app.url}/api/events?limit=1`, { headers: { 'x-api-key': KEY } })).status,
    ).toBe(429);
    // A valid token is another credential with its own budget.
    const token = await signJwt({ sub: 'alice' }, SECRET);
    expect(
      (
        await fetch(`${app.url}/api/events?limit=1`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(200);
  });
});
