import { Module } from '@nestjs/common';
import { LedgerService } from './ledger/ledger.service';
import { LedgerReadsModule } from './ledger/ledger-reads.module';
import { LedgerStore } from './ledger/ledger.store';
import { LimitsModule } from '../limits/limits.module';
import { MembersModule } from './members/members.module';
import { TeamSummary } from './reports/team-summary';
import { BudgetsService } from './budgets/budgets.service';
import { BudgetsStore } from './budgets/budgets.store';
import { LocalLedgerFeed } from './local-ledger-feed';
import { TeamBudgetsController } from './team-budgets.controller';
import { TeamMembersController } from './team-members.controller';
import { UsageEntriesController } from './usage-entries.controller';
import { TeamReports } from './reports/team-reports';
import { TeamReportsController } from './team-reports.controller';
import { OtlpController } from './otlp.controller';
import { TeamUsageController } from './team-usage.controller';
import { OtlpMetricsStore } from './otlp/otlp-metrics.store';
import { OtlpGrpcServer } from './otlp/otlp-grpc.server';
import { OtlpReceiver } from './otlp/otlp-receiver';

/** Team usage (docs/design.md §9): members and tokens, the ledger and its ways in, team reports. */
@Module({
  // The ledger's tables are written in transactions of their own (entities: database/entities.ts).
  imports: [MembersModule, LimitsModule, LedgerReadsModule],
  controllers: [
    TeamMembersController,
    UsageEntriesController,
    TeamReportsController,
    OtlpController,
    TeamUsageController,
    TeamBudgetsController,
  ],
  providers: [
    LedgerStore,
    LedgerService,
    TeamReports,
    TeamSummary,
    OtlpReceiver,
    OtlpGrpcServer,
    OtlpMetricsStore,
    BudgetsService,
    BudgetsStore,
    LocalLedgerFeed,
  ],
  exports: [BudgetsService, LedgerService],
})
export class TeamModule {}
