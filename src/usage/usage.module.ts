import { UsageReportsController } from './usage-reports.controller';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BridgeModule } from '../bridge/bridge.module';
import { SnapshotStore } from './snapshot.store';
import { UsageCache } from './usage-cache';
import { UsageConfigService } from './usage-config.service';
import { UsageConfigStore } from './usage-config.store';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';
import { UsageConfigRecord } from './usage-config.entity';
import { UsageSnapshot } from './usage-snapshot.entity';

/** The usage routes: bridge reads with cache and fallbacks, snapshots, the usage config. */
@Module({
  imports: [BridgeModule, TypeOrmModule.forFeature([UsageSnapshot, UsageConfigRecord])],
  controllers: [UsageController, UsageReportsController],
  providers: [UsageService, UsageConfigService, UsageCache, SnapshotStore, UsageConfigStore],
  exports: [UsageService, UsageConfigService],
})
export class UsageModule {}
