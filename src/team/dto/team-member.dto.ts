import { IsEmail, IsOptional, Matches, MaxLength } from 'class-validator';
import type { TeamMember } from '../members/team-member.entity';
import { MEMBER_NAME, MEMBER_NAME_RULE } from '../members/team-member.entity';

/** POST /api/team/members */
export class CreateMemberDto {
  /** Unique; shown in reports and used as `member:<name>` and a JWT `sub`. */
  @Matches(MEMBER_NAME, { message: `name: ${MEMBER_NAME_RULE}` })
  name!: string;

  @IsOptional()
  @MaxLength(254)
  @IsEmail({}, { message: 'email must be an email address' })
  email?: string;
}

export class TeamMemberDto {
  id!: string;
  name!: string;
  email!: string | null;
  /** The token's first characters (`ugm_AbCd`), to tell tokens apart. */
  token_hint!: string;
  /** ISO-8601. */
  created_at!: string;
  /** ISO-8601 when revoked, else null. */
  revoked_at!: string | null;

  static from(row: TeamMember): TeamMemberDto {
    return {
      id: row.id,
      name: row.name,
      email: row.email,
      token_hint: row.tokenHint,
      created_at: new Date(row.createdAt).toISOString(),
      revoked_at: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
    };
  }
}

export class CreatedMemberDto extends TeamMemberDto {
  /** The member token: shown this once (only its SHA-256 is stored). */
  token!: string;
}

export class TeamMemberListDto {
  members!: TeamMemberDto[];
  count!: number;
}
