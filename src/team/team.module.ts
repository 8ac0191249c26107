import { Module } from '@nestjs/common';
import { MembersModule } from './members/members.module';
import { TeamMembersController } from './team-members.controller';

/** Team usage (DESIGN.md §9): members and tokens. */
@Module({
  imports: [MembersModule],
  controllers: [TeamMembersController],
})
export class TeamModule {}
