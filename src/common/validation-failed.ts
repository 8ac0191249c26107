import type { ValidationError } from '@nestjs/common';
import { ValidationFailedError } from './app-error';
import type { FieldError } from './problem-details';

function flatten(errors: readonly ValidationError[], prefix: string, out: FieldError[]): void {
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) out.push({ field, message });
    if (error.children?.length) flatten(error.children, field, out);
  }
}

/** class-validator's errors as one ValidationFailedError listing every invalid field. */
export function validationFailed(errors: readonly ValidationError[]): ValidationFailedError {
  const fieldErrors: FieldError[] = [];
  flatten(errors, '', fieldErrors);
  return new ValidationFailedError(fieldErrors);
}
