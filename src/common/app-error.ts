import { HttpStatus } from '@nestjs/common';
import { type FieldError, PROBLEM_TYPES, type ProblemDetails } from './problem-details';

/** What an error says of itself in an answer (RFC 9457); the filter adds instance and request id. */
export type OwnProblem = Partial<ProblemDetails> & { status: number };

/**
 * The one way code below the HTTP edge fails with something to tell the caller: an error that
 * describes itself as problem details. Services, stores, pipes and the bridge client throw these
 * (or a subclass with fields of its own, such as the bridge's errors); the same error serves a
 * REST answer, a socket `error` frame and a log line. Nest's HTTP exceptions stay at the edge
 * (guards, controllers, Terminus), and the problem-details filter renders both.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    message: string,
    private readonly extra: Partial<ProblemDetails> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  toProblem(): OwnProblem {
    return { status: this.status, detail: this.message, ...this.extra };
  }
}

/** The thing asked for does not exist (404). */
export class NotFoundError extends AppError {
  constructor(message: string) {
    super(HttpStatus.NOT_FOUND, message);
  }
}

/** It cannot be done in the current state: a name taken, a limit reached (409). */
export class ConflictError extends AppError {
  constructor(message: string) {
    super(HttpStatus.CONFLICT, message);
  }
}

/** The caller's credential may not do this (403). */
export class ForbiddenError extends AppError {
  constructor(message: string) {
    super(HttpStatus.FORBIDDEN, message);
  }
}

/** A 400 that lists every invalid field. */
export class ValidationFailedError extends AppError {
  constructor(readonly fieldErrors: readonly FieldError[]) {
    super(
      HttpStatus.BAD_REQUEST,
      `${fieldErrors.length} request field${fieldErrors.length === 1 ? ' is' : 's are'} invalid`,
    );
  }

  override toProblem(): OwnProblem {
    return {
      type: PROBLEM_TYPES.validation,
      title: 'Invalid request',
      status: this.status,
      detail: this.message,
      errors: [...this.fieldErrors],
    };
  }
}
