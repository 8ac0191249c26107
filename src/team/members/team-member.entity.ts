import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from '../../database/epoch-ms.transformer';

/** A member's name: what reports, rooms (`member:<name>`) and JWT subjects carry. */
export const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const MEMBER_NAME_RULE =
  'a member name is 1–64 letters, digits and . _ @ - (starting with a letter or digit)';

/**
 * A team member (docs/design.md §9): a person whose Claude Code sends usage and hook events with the
 * member token issued here. The token itself is never stored, only its SHA-256.
 */
@Entity('team_members')
export class TeamMember {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** Unique, as it appears in reports (`group_by=member`) and as a JWT `sub`. */
  @Column({ type: 'varchar', length: 64, unique: true })
  name!: string;

  @Column({ type: 'varchar', length: 254, nullable: true })
  email!: string | null;

  /** SHA-256 (hex) of the member token. */
  @Column({ name: 'token_hash', type: 'varchar', length: 64, unique: true })
  tokenHash!: string;

  /** The token's first characters, to tell tokens apart in a list (`ugm_AbCd…`). */
  @Column({ name: 'token_hint', type: 'varchar', length: 16 })
  tokenHint!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: number;

  /** When the token was revoked; a revoked member's history stays, its token no longer works. */
  @Column({ name: 'revoked_at', type: 'bigint', transformer: epochMs, nullable: true })
  revokedAt!: number | null;
}
