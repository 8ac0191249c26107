import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BridgeModule } from '../bridge/bridge.module';
import { LedgerReadsModule } from '../team/ledger/ledger-reads.module';
import { UsageModule } from '../usage/usage.module';
import { LimitObservation } from './limit-observation.entity';
import { LimitsController } from './limits.controller';
import { LimitsService } from './limits.service';
import { LimitsStore } from './limits.store';
import { MemberFigures } from './member-figures';
import { StatuslineService } from './statusline.service';

/** Claude Code's official limits and the status line that brings them. */
@Module({
  imports: [
    BridgeModule,
    UsageModule,
    LedgerReadsModule,
    TypeOrmModule.forFeature([LimitObservation]),
  ],
  controllers: [LimitsController],
  providers: [LimitsService, LimitsStore, StatuslineService, MemberFigures],
  exports: [LimitsService],
})
export class LimitsModule {}
