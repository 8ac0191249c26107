import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.guard';
import {
  CreatedMemberDto,
  CreateMemberDto,
  TeamMemberDto,
  TeamMemberListDto,
} from './dto/team-member.dto';
import { MemberDirectory } from './members/member-directory';

/** Team members and their tokens (docs/design.md §9): admins only. */
@ApiTags('team')
@Controller('api/team/members')
@Roles('admin')
export class TeamMembersController {
  constructor(private readonly members: MemberDirectory) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Add a member; the answer holds its token, once',
    description:
      'The token (`ugm_…`) goes in `Authorization: Bearer` of the member’s hook sender, log push and OTLP exporters. Only its SHA-256 is stored: a lost token is revoked and a new member made.',
  })
  @ApiCreatedResponse({ type: CreatedMemberDto })
  async create(@Body() body: CreateMemberDto): Promise<CreatedMemberDto> {
    const { member, token } = await this.members.create(body.name, body.email ?? null);
    return { ...TeamMemberDto.from(member), token };
  }

  @Get()
  @ApiOperation({ summary: 'The members, revoked ones included (their usage stays)' })
  @ApiOkResponse({ type: TeamMemberListDto })
  async list(): Promise<TeamMemberListDto> {
    const members = (await this.members.list()).map((row) => TeamMemberDto.from(row));
    return { members, count: members.length };
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Revoke a member’s token',
    description:
      'Refused at once on this instance and within 5 s on the others; the member’s usage and events stay.',
  })
  @ApiOkResponse({ type: TeamMemberDto })
  async revoke(@Param('id', new ParseUUIDPipe()) id: string): Promise<TeamMemberDto> {
    return TeamMemberDto.from(await this.members.revoke(id));
  }
}
