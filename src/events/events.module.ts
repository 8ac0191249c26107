import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HookEvent } from './hook-event.entity';
import { EventRetention } from './event-retention';
import { EventStore } from './event.store';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';
import { SkillMetricsController } from './skill-metrics/skill-metrics.controller';
import { SkillMetricsService } from './skill-metrics/skill-metrics.service';

/** Claude Code hook events: ingestion, storage, history, and the skill metrics drawn from them. */
@Module({
  imports: [TypeOrmModule.forFeature([HookEvent])],
  controllers: [EventsController, SkillMetricsController],
  providers: [EventStore, EventsService, SkillMetricsService, EventRetention],
  exports: [EventsService, SkillMetricsService],
})
export class EventsModule {}
