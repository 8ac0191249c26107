import { Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ClusterLock } from './cluster-lock';
import { PeriodicJobs } from './periodic-jobs';

/**
 * What several gateway instances share besides the database: locks for cluster-wide jobs, and
 * the one scheduler of periodic jobs.
 */
@Global()
@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [ClusterLock, PeriodicJobs],
  exports: [ClusterLock, PeriodicJobs],
})
export class ClusterModule {}
