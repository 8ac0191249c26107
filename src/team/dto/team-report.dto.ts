import { Type } from 'class-transformer';
import {
  IsDefined,
  IsIn,
  IsInt,
  IsOptional,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { UsageReportQueryDto } from '../../usage/dto/usage-report.dto';
import { MEMBER_NAME, MEMBER_NAME_RULE } from '../members/team-member.entity';

export const GROUP_BY = ['member', 'machine', 'model', 'project', 'agent'] as const;
export type GroupBy = (typeof GROUP_BY)[number];
/** The most groups one page of a report holds. */
export const MAX_PAGE = 1000;

/** GET /api/team/usage/reports/*: the parameters of /api/usage/reports/*, and the team's. */
export class TeamReportQueryDto extends UsageReportQueryDto {
  /** A row per key and member (machine, model, project, agent); the field of that name says which. */
  @ValidateIf(
    (q: TeamReportQueryDto) =>
      q.group_by !== undefined || q.limit !== undefined || q.after !== undefined,
  )
  @IsDefined({ message: 'group_by is required with limit or after: a page holds groups' })
  @IsIn(GROUP_BY)
  group_by?: GroupBy;

  /** A page: the rows of at most this many groups (1–1000), the first after `after`; the answer's
   * `page.next` is the next page's `after`. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  limit?: number;

  /** The page after this group (the previous answer's `page.next`). */
  @IsOptional()
  @MaxLength(255)
  // Control characters are what is refused here.
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f\u007f]+$/, { message: 'after must be printable text' })
  after?: string;

  /** Only this member's usage. */
  @IsOptional()
  @Matches(MEMBER_NAME, { message: `member: ${MEMBER_NAME_RULE}` })
  member?: string;

  /** Only this model's usage (as reports name it: `<model>-fast` for fast mode). */
  @IsOptional()
  @MaxLength(128)
  model?: string;

  /** Only this machine's usage. */
  @IsOptional()
  @MaxLength(128)
  @Matches(/^[\w.@:-]+$/, { message: 'machine may contain only letters, digits and _ . @ : -' })
  machine?: string;
}
