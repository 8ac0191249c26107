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
import { OtlpController } from './otlp.controller';
import { TeamUsageController } from './team-usage.controller';
import { OtlpReceiver } from './otlp/otlp-receiver';
import { OtlpPoint, OtlpSeries, UsageMetricMinute } from './otlp/otlp-series.entity';

/** Team usage (DESIGN.md §9): members and tokens, the ledger and its ways in, team reports. */
@Module({
  imports: [MembersModule, TypeOrmModule.forFeature([UsageEntry, UsageRollup, UsageSessionRollup])],
  controllers: [
    TeamMembersController,
    UsageEntriesController,
    TeamReportsController,
    OtlpController,
    TeamUsageController,
  ],
  providers: [LedgerStore, LedgerService, TeamReports, OtlpReceiver],
})
export class TeamModule {}
