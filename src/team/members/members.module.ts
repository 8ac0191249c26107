import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MemberDirectory } from './member-directory';
import { TeamMember } from './team-member.entity';

/** Team members and their tokens: used by authentication (every transport) and the team API. */
@Module({
  imports: [TypeOrmModule.forFeature([TeamMember])],
  providers: [MemberDirectory],
  exports: [MemberDirectory],
})
export class MembersModule {}
