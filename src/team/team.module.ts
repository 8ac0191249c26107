import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LedgerService } from './ledger/ledger.service';
import { LedgerStore } from './ledger/ledger.store';
import { UsageEntry } from './ledger/usage-entry.entity';
import { UsageRollup, UsageSessionRollup } from './ledger/usage-rollup.entity';
import { MembersModule } from './members/members.module';
import { TeamMembersController } from './team-members.controller';
import { UsageEntriesController } from './usage-entries.controller';
import { TeamReports } from './reports/team-reports';
import { TeamReportsController } from './team-reports.controller';

/** Team usage (DESIGN.md §9): members and tokens, the ledger and its ways in, team reports. */
@Module({
  imports: [MembersModule, TypeOrmModule.forFeature([UsageEntry, UsageRollup, UsageSessionRollup])],
  controllers: [TeamMembersController, UsageEntriesController, TeamReportsController],
  providers: [LedgerStore, LedgerService, TeamReports],
})
export class TeamModule {}
