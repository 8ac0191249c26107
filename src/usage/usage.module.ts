import { Module } from '@nestjs/common';
import { BridgeModule } from '../bridge/bridge.module';
import { SnapshotStore } from './snapshot.store';
import { UsageCache } from './usage-cache';
import { UsageConfigStore } from './usage-config.store';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';

/** The usage routes: bridge reads with cache and fallbacks, snapshots, the usage config. */
@Module({
  imports: [BridgeModule],
  controllers: [UsageController],
  providers: [UsageService, UsageCache, SnapshotStore, UsageConfigStore],
  exports: [UsageService],
})
export class UsageModule {}
