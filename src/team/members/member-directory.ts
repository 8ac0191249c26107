import { Inject, Injectable } from '@nestjs/common';
import { ConflictError, NotFoundError } from '../../common/app-error';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { IsNull, Not, type Repository } from 'typeorm';
import { CLOCK, type Clock } from '../../common/clock';
import { DatabaseWrites } from '../../database/database-writes';
import { TeamMember } from './team-member.entity';
import { hashMemberToken, memberTokenHint, newMemberToken } from './member-token';

/** Who a member is, as a principal carries it. */
export interface MemberRef {
  readonly id: string;
  readonly name: string;
}

/**
 * A revoked token stops working on this instance at once and on the others within this time:
 * a lookup answered from the cache first makes sure the team's revocations were counted at
 * most this long ago (one `count(*)`, shared by every request of those 5 s).
 */
export const MEMBER_CACHE_TTL_MS = 5_000;
/** How long a known token or name is kept (revocations evict it sooner, see above). */
const KNOWN_TTL_MS = 10 * 60_000;
/** Members a team may have (a number with a test, like every limit). */
export const MAX_MEMBERS = 10_000;

/** A cache entry: the member, or none (an unknown token or name) as of `at`. */
interface Looked {
  readonly ref: MemberRef | undefined;
  readonly at: number;
}

/** The team's members: issuing, listing and revoking tokens, and resolving a credential to a member. */
@Injectable()
export class MemberDirectory {
  private readonly cache = new LRUCache<string, Looked>({
    max: 20_000,
    ttl: KNOWN_TTL_MS,
  });
  /** Revoked members counted at the last sweep (revocation is for good: the count only grows). */
  private revoked = -1;
  private sweptAt = -Infinity;
  private sweeping: Promise<void> | undefined;
  /** Elapsed time (monotonic, not the injectable wall clock): what cache ages are measured in. */
  protected elapsed = (): number => performance.now();

  constructor(
    @InjectRepository(TeamMember) private readonly rows: Repository<TeamMember>,
    private readonly writes: DatabaseWrites,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /** A new member and its token (returned this once; only its hash is kept). */
  async create(name: string, email: string | null): Promise<{ member: TeamMember; token: string }> {
    const token = newMemberToken();
    const member = this.rows.create({
      id: randomUUID(),
      name,
      email,
      tokenHash: hashMemberToken(token),
      tokenHint: memberTokenHint(token),
      createdAt: this.now(),
      revokedAt: null,
    });
    await this.writes.transaction(async (m) => {
      if (await m.exists(TeamMember, { where: { name } }))
        throw new ConflictError(`a member named ${name} exists already`);
      if ((await m.count(TeamMember, { where: { revokedAt: IsNull() } })) >= MAX_MEMBERS)
        throw new ConflictError(`a team has at most ${MAX_MEMBERS} members`);
      await m.insert(TeamMember, member);
    });
    this.cache.delete(`name:${name}`);
    return { member, token };
  }

  list(): Promise<TeamMember[]> {
    return this.rows.find({ order: { createdAt: 'ASC', name: 'ASC' } });
  }

  /** Revokes a member's token (its usage stays in the ledger under its name). */
  async revoke(id: string): Promise<TeamMember> {
    const member = await this.rows.findOne({ where: { id } });
    if (!member) throw new NotFoundError(`no member ${id}`);
    if (member.revokedAt === null) {
      member.revokedAt = this.now();
      await this.writes.write((m) => m.update(TeamMember, { id }, { revokedAt: member.revokedAt }));
    }
    this.cache.delete(`token:${member.tokenHash}`);
    this.cache.delete(`name:${member.name}`);
    this.cache.delete(`name:${member.id}`);
    return member;
  }

  /** The member a token belongs to, unless unknown or revoked. */
  byToken(token: string): Promise<MemberRef | undefined> {
    const hash = hashMemberToken(token);
    return this.cached(`token:${hash}`, () =>
      this.rows.findOne({ where: { tokenHash: hash, revokedAt: IsNull() } }),
    );
  }

  /** The member a JWT `sub` names (by name or id), unless unknown or revoked. */
  bySubject(sub: string): Promise<MemberRef | undefined> {
    return this.cached(`name:${sub}`, () =>
      this.rows.findOne({
        where: [
          { name: sub, revokedAt: IsNull() },
          { id: sub, revokedAt: IsNull() },
        ],
      }),
    );
  }

  /** Members by id, revoked ones included (reports name every member that has usage). */
  async names(): Promise<Map<string, string>> {
    const rows = await this.rows.find({ select: { id: true, name: true } });
    return new Map(rows.map((row) => [row.id, row.name]));
  }

  private async cached(
    key: string,
    load: () => Promise<TeamMember | null>,
  ): Promise<MemberRef | undefined> {
    if (this.elapsed() - this.sweptAt >= MEMBER_CACHE_TTL_MS) await this.sweep();
    const hit = this.cache.get(key);
    // An unknown token or name is asked again after MEMBER_CACHE_TTL_MS (a member created since).
    if (hit && (hit.ref || this.elapsed() - hit.at < MEMBER_CACHE_TTL_MS)) return hit.ref;
    const at = this.elapsed();
    const row = await load();
    const ref = row ? { id: row.id, name: row.name } : undefined;
    this.cache.set(key, { ref, at });
    return ref;
  }

  /**
   * Evicts the members revoked on any instance since the last sweep: one count, and the revoked
   * rows only when it changed. Concurrent lookups share one sweep.
   */
  private sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      const startedAt = this.elapsed();
      try {
        const revoked = await this.rows.count({ where: { revokedAt: Not(IsNull()) } });
        if (revoked !== this.revoked) {
          const rows = await this.rows.find({
            select: { id: true, name: true, tokenHash: true },
            where: { revokedAt: Not(IsNull()) },
          });
          for (const row of rows) {
            this.cache.delete(`token:${row.tokenHash}`);
            this.cache.delete(`name:${row.name}`);
            this.cache.delete(`name:${row.id}`);
          }
          this.revoked = revoked;
        }
        this.sweptAt = startedAt;
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }
}
