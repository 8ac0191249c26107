import { HttpStatus } from '@nestjs/common';
import { AppError, type OwnProblem } from '../common/app-error';
import type { FieldError } from '../common/problem-details';
import { PROBLEM_TYPES } from '../common/problem-details';

export type UnavailableReason =
  'circuit_open' | 'timeout' | 'network' | 'upstream_error' | 'not_ready' | 'disabled';

const REASON_TEXT: Record<UnavailableReason, string> = {
  circuit_open: 'the usage bridge is failing; calls are paused (circuit open)',
  timeout: 'the usage bridge did not answer in time',
  network: 'the usage bridge cannot be reached',
  upstream_error: 'the usage bridge failed to answer',
  not_ready: 'the usage bridge is starting',
  disabled: 'the usage bridge is disabled in this deployment',
};

/** The bridge could not give an answer (no internal URL or stack in what a client sees). */
export class BridgeUnavailableError extends AppError {
  constructor(
    readonly reason: UnavailableReason,
    override readonly cause?: unknown,
  ) {
    super(HttpStatus.SERVICE_UNAVAILABLE, REASON_TEXT[reason]);
  }

  /** Worth another attempt (and a strike against the breaker). */
  get transient(): boolean {
    return (
      this.reason === 'timeout' || this.reason === 'network' || this.reason === 'upstream_error'
    );
  }

  override toProblem(): OwnProblem {
    return {
      type: PROBLEM_TYPES.bridgeUnavailable,
      title: 'Usage bridge unavailable',
      status: HttpStatus.SERVICE_UNAVAILABLE,
      detail: this.message,
      from_bridge: true,
    };
  }
}

/** The bridge answered with a 4xx: the request was wrong; its field list is passed on. */
export class BridgeRequestError extends AppError {
  constructor(
    status: number,
    message: string,
    readonly fieldErrors: readonly FieldError[],
  ) {
    super(status, message);
  }

  override toProblem(): OwnProblem {
    return {
      type: this.fieldErrors.length ? PROBLEM_TYPES.validation : 'about:blank',
      title: this.fieldErrors.length ? 'Invalid request' : 'Rejected by the usage bridge',
      status: this.status,
      detail: this.message,
      ...(this.fieldErrors.length ? { errors: [...this.fieldErrors] } : {}),
      from_bridge: true,
    };
  }
}
