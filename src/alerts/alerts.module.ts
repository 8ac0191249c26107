import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventsModule } from '../events/events.module';
import { TeamModule } from '../team/team.module';
import { UsageModule } from '../usage/usage.module';
import { LimitsModule } from '../limits/limits.module';
import { AlertDelivery } from './alert-delivery.entity';
import { AlertRecord } from './alert.entity';
import { AlertStore } from './alert.store';
import { AlertWebhooks } from './alert-webhooks';
import { AlertsController } from './alerts.controller';
import { AlertsService } from './alerts.service';

/** Alerts: raised once across instances, stored, POSTed to webhooks, sent to dashboards. */
@Module({
  imports: [
    TypeOrmModule.forFeature([AlertRecord, AlertDelivery]),
    UsageModule,
    LimitsModule,
    EventsModule,
    TeamModule,
  ],
  controllers: [AlertsController],
  providers: [AlertStore, AlertWebhooks, AlertsService],
  exports: [AlertsService, AlertWebhooks],
})
export class AlertsModule {}
