import { type ArgumentMetadata, Injectable, ValidationPipe } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { ValidationFailedException } from '../common/validation.exception';
import type { ErrorData } from './realtime.protocol';

/** The REST validation rules for socket messages; a bad one is a `bad_request` listing every field. */
@Injectable()
export class WsValidationPipe extends ValidationPipe {
  constructor() {
    super({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      exceptionFactory: (errors) => {
        const { fieldErrors } = ValidationFailedException.fromValidationErrors(errors);
        const error: ErrorData = {
          code: 'bad_request',
          message: `${fieldErrors.length} message field${fieldErrors.length === 1 ? ' is' : 's are'} invalid`,
          errors: [...fieldErrors],
        };
        return new WsException(error);
      },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object) {
      if (value === undefined || value === null) value = {};
      if (typeof value !== 'object' || Array.isArray(value)) {
        const error: ErrorData = { code: 'bad_request', message: 'the message must be an object' };
        throw new WsException(error);
      }
    }
    return super.transform(value, metadata);
  }
}
