import type { AlertDto } from './dto/alert.dto';

export const ALERT_RAISED = 'alert.raised';

/** An alert this instance stored (or, `remote`, another instance did: relayed for /stream). */
export interface AlertRaisedEvent {
  readonly alert: AlertDto;
  readonly remote?: boolean;
}
