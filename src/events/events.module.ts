import { Module } from '@nestjs/common';
import { EventStore } from './event.store';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

/** Claude Code hook events: ingestion, storage, history. */
@Module({
  controllers: [EventsController],
  providers: [EventStore, EventsService],
  exports: [EventsService],
})
export class EventsModule {}
