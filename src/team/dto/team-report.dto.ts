import { IsIn, IsOptional, Matches, MaxLength } from 'class-validator';
import { UsageReportQueryDto } from '../../usage/dto/usage-report.dto';
import { MEMBER_NAME, MEMBER_NAME_RULE } from '../members/team-member.entity';

export const GROUP_BY = ['member', 'machine', 'model', 'project', 'agent'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** GET /api/team/usage/reports/*: the parameters of /api/usage/reports/*, and the team's. */
export class TeamReportQueryDto extends UsageReportQueryDto {
  /** A row per key and member (machine, model, project, agent); the field of that name says which. */
  @IsOptional()
  @IsIn(GROUP_BY)
  group_by?: GroupBy;

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
