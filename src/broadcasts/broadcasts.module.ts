import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { BroadcastsController } from './broadcasts.controller';
import { DomainEventsService } from './domain-events.service';
import { GithubWebhookController } from './github-webhook.controller';

/** Domain events published by other servers (POST /api/broadcasts) and GitHub (webhook). */
@Module({
  imports: [EventsModule],
  controllers: [BroadcastsController, GithubWebhookController],
  providers: [DomainEventsService],
})
export class BroadcastsModule {}
