import { type ArgumentsHost, Catch, Logger, type WsExceptionFilter } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { ValidationFailedException } from '../common/validation.exception';
import { envelope, type ErrorData } from './realtime.protocol';
import { sendDirect } from './send-direct';

/**
 * Any failure of a client message becomes an `error {code, message, errors?}` event and, when the
 * client asked for an ack, a nack with the same content — never a crash or an unhandled rejection.
 */
@Catch()
export class WsProblemFilter implements WsExceptionFilter {
  private readonly logger = new Logger(WsProblemFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const socket = host.switchToWs().getClient<Socket>();
    const ack: unknown = host.getArgByIndex(2);
    let error: ErrorData;
    const given = exception instanceof WsException ? exception.getError() : undefined;
    if (exception instanceof ValidationFailedException)
      // The app's global validation pipe runs on socket messages too.
      error = {
        code: 'bad_request',
        message: exception.message,
        errors: [...exception.fieldErrors],
      };
    else if (typeof given === 'object' && given !== null && 'code' in given)
      error = given as ErrorData;
    else if (typeof given === 'string') error = { code: 'bad_request', message: given };
    else {
      this.logger.error(exception instanceof Error ? exception.stack : String(exception));
      error = { code: 'internal', message: 'the message could not be handled' };
    }
    sendDirect(socket, 'error', envelope('error', error));
    if (typeof ack === 'function')
      (ack as (result: unknown) => void)({ status: 'error', ...error });
  }
}
