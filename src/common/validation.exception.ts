import { BadRequestException, type ValidationError } from '@nestjs/common';
import type { FieldError } from './problem-details';

function flatten(errors: readonly ValidationError[], prefix: string, out: FieldError[]): void {
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) out.push({ field, message });
    if (error.children?.length) flatten(error.children, field, out);
  }
}

/** A 400 that lists every invalid field, for the problem-details filter to render. */
export class ValidationFailedException extends BadRequestException {
  constructor(readonly fieldErrors: readonly FieldError[]) {
    super(
      `${fieldErrors.length} request field${fieldErrors.length === 1 ? ' is' : 's are'} invalid`,
    );
  }

  static fromValidationErrors(errors: readonly ValidationError[]): ValidationFailedException {
    const fieldErrors: FieldError[] = [];
    flatten(errors, '', fieldErrors);
    return new ValidationFailedException(fieldErrors);
  }
}
