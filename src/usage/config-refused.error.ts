import { HttpStatus } from '@nestjs/common';
import { AppError, type OwnProblem } from '../common/app-error';
import type { FieldError } from '../common/problem-details';
import { PROBLEM_TYPES } from '../common/problem-details';

/**
 * The bridge answered a config push with a 4xx: retrying the same values would be refused again,
 * so the change is undone and the caller told why (422, with the bridge's field list).
 */
export class ConfigRefusedError extends AppError {
  constructor(
    readonly reason: string,
    readonly fieldErrors: readonly FieldError[],
  ) {
    super(
      HttpStatus.UNPROCESSABLE_ENTITY,
      `the usage bridge refused this configuration, nothing was changed: ${reason}`,
    );
  }

  override toProblem(): OwnProblem {
    return {
      type: PROBLEM_TYPES.configRefused,
      title: 'Configuration refused by the usage bridge',
      status: HttpStatus.UNPROCESSABLE_ENTITY,
      detail: this.message,
      ...(this.fieldErrors.length ? { errors: [...this.fieldErrors] } : {}),
      from_bridge: true,
    };
  }
}
