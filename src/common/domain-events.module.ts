import { Global, Module } from '@nestjs/common';
import { DomainEvents } from './domain-events';

/** DomainEvents for every feature (Nest's EventEmitterModule underneath). */
@Global()
@Module({ providers: [DomainEvents], exports: [DomainEvents] })
export class DomainEventsModule {}
