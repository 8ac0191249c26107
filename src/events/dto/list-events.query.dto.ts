import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { MEMBER_NAME, MEMBER_NAME_RULE } from '../../team/members/team-member.entity';

export class ListEventsQueryDto {
  /** Only this team member's events (a member token always reads its own only). */
  @IsOptional()
  @Matches(MEMBER_NAME, { message: `member: ${MEMBER_NAME_RULE}` })
  member?: string;

  @IsOptional()
  @MaxLength(128)
  source_app?: string;

  @IsOptional()
  @MaxLength(128)
  @Matches(/^[A-Za-z0-9._:@-]+$/, {
    message: 'session_id may contain only letters, digits and . _ : @ -',
  })
  session_id?: string;

  @IsOptional()
  @Matches(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, {
    message: 'hook_event_type must be an event name such as PreToolUse',
  })
  hook_event_type?: string;

  /** Only events after this id (oldest first). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after_id?: number;

  /** 1–1000, default 100. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
