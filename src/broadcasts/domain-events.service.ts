import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { readIdempotencyKey } from '../common/idempotency-key';
import { ValidationFailedError } from '../common/app-error';
import { validationFailed } from '../common/validation-failed';
import { EventsService } from '../events/events.service';
import { checkRoom } from '../realtime/rooms';
import type { BroadcastResultDto } from './dto/broadcast.dto';
import { DOMAIN_DATA_CLASSES } from './dto/domain-event-data.dto';

/** Domain events from servers and webhooks: validated per type, stored (replayable), broadcast. */
@Injectable()
export class DomainEventsService {
  constructor(private readonly events: EventsService) {}

  async publish(
    eventType: string,
    room: string,
    data: Record<string, unknown>,
    source: string,
    idempotencyKeyHeader?: string | string[],
  ): Promise<BroadcastResultDto & { created: boolean }> {
    const { key: idempotencyKey, errors: keyErrors } = readIdempotencyKey(idempotencyKeyHeader);
    const errors: Array<{ field: string; message: string }> = [...keyErrors];
    const roomCheck = checkRoom(room, undefined, false);
    if (!roomCheck.ok) errors.push({ field: 'room', message: roomCheck.message });
    let payload = data;
    const dataClass = DOMAIN_DATA_CLASSES[eventType as keyof typeof DOMAIN_DATA_CLASSES] as
      (new () => object) | undefined;
    if (dataClass) {
      const instance = plainToInstance(dataClass, data);
      const problems = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
      const { fieldErrors } = validationFailed(problems);
      errors.push(...fieldErrors.map((e) => ({ field: `data.${e.field}`, message: e.message })));
      payload = { ...instance } as Record<string, unknown>;
    }
    if (errors.length) throw new ValidationFailedError(errors);
    const { event, created } = await this.events.publishDomain(
      eventType,
      room,
      payload,
      source,
      idempotencyKey,
    );
    return { id: event.id, event_type: eventType, room, created };
  }
}
