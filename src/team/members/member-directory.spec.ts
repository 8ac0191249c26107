import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DatabaseWrites } from '../../database/database-writes';
import { MEMBER_CACHE_TTL_MS, MemberDirectory } from './member-directory';
import { TeamMember } from './team-member.entity';

/** A directory whose cache ages are read from `t` (ms), as one gateway instance keeps them. */
class Instance extends MemberDirectory {
  t = 0;
  protected override elapsed = (): number => this.t;
}

/**
 * Two instances over one real (SQLite) database: a known token costs no query per request, a
 * revocation made on the other instance is refused within MEMBER_CACHE_TTL_MS.
 */
describe('MemberDirectory', () => {
  let db: DataSource;
  let a: Instance;
  let b: Instance;

  beforeEach(async () => {
    db = new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      entities: [TeamMember],
      synchronize: true,
    });
    await db.initialize();
    const make = () => new Instance(db.getRepository(TeamMember), new DatabaseWrites(db), Date.now);
    a = make();
    b = make();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await db.destroy();
  });

  it('answers a known token from its cache: one count per 5 s, no lookup per request', async () => {
    const { token } = await a.create('alice', null);
    const repo = db.getRepository(TeamMember);
    const findOne = vi.spyOn(repo, 'findOne');
    const count = vi.spyOn(repo, 'count');
    for (let i = 0; i < 100; i++) {
      b.t = i * 10; // 100 requests over one second
      expect((await b.byToken(token))?.name).toBe('alice');
    }
    expect(findOne).toHaveBeenCalledTimes(1);
    expect(count).toHaveBeenCalledTimes(1);
    b.t = 60_000;
    expect((await b.byToken(token))?.name).toBe('alice');
    expect(findOne).toHaveBeenCalledTimes(1);
    expect(count).toHaveBeenCalledTimes(2);
  });

  it('refuses a token revoked on another instance within MEMBER_CACHE_TTL_MS, at once on its own', async () => {
    const { member, token } = await a.create('alice', null);
    const { token: bobs } = await a.create('bob', null);
    expect((await b.byToken(token))?.name).toBe('alice');
    expect((await b.bySubject('alice'))?.name).toBe('alice');
    expect((await a.byToken(token))?.name).toBe('alice');

    await a.revoke(member.id);
    expect(await a.byToken(token)).toBeUndefined();
    b.t = MEMBER_CACHE_TTL_MS - 1; // b still trusts what it saw (the documented window)
    expect((await b.byToken(token))?.name).toBe('alice');
    b.t = MEMBER_CACHE_TTL_MS;
    expect(await b.byToken(token)).toBeUndefined();
    expect(await b.bySubject('alice')).toBeUndefined();
    expect(await b.bySubject(member.id)).toBeUndefined();
    expect((await b.byToken(bobs))?.name).toBe('bob');
  });

  it('finds a member created on another instance after an unknown lookup, within the window', async () => {
    expect(await b.bySubject('carol')).toBeUndefined();
    await a.create('carol', null);
    b.t = MEMBER_CACHE_TTL_MS - 1;
    expect(await b.bySubject('carol')).toBeUndefined();
    b.t = MEMBER_CACHE_TTL_MS;
    expect((await b.bySubject('carol'))?.name).toBe('carol');
  });
});
