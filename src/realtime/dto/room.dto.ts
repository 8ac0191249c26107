import { IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';

export class RoomDto {
  @IsString()
  @MaxLength(140)
  room!: string;
}

export class UsageRequestDto {
  @IsOptional()
  @MaxLength(128)
  @Matches(/^[A-Za-z0-9._:@-]+$/, {
    message: 'session_id may contain only letters, digits and . _ : @ -',
  })
  session_id?: string;
}

export class MetricsSubscriptionDto {
  /** A skill name (`Bash`, `Skill:pdf`, `mcp__github__create_issue`), or null for the top 10. */
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsString()
  @MaxLength(120)
  @Matches(/^[\w.:@/-]+$/, { message: 'skill may contain only letters, digits and _ . : @ / -' })
  skill?: string | null;
}

/** `authenticate`: a fresh credential for the same connection (before the old one expires). */
export class AuthenticateDto {
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  token?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1024)
  api_key?: string;
}
