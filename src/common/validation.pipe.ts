import { ValidationPipe } from '@nestjs/common';
import { validationFailed } from './validation-failed';

/**
 * The global input pipe: DTOs are transformed and checked, unknown fields are refused, and every
 * violation (not just the first) ends up in one 400 problem response.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => validationFailed(errors),
  });
}
