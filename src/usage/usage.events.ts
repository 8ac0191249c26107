import type { QueryParams } from '../bridge/bridge-client';
import type { SnapshotKind } from './usage-snapshot.entity';

export const USAGE_UPDATED_EVENT = 'usage.updated';

/** A fresh bridge payload that differs from the previous one for the same parameters. */
export interface UsageUpdatedEvent {
  readonly kind: SnapshotKind;
  readonly params: QueryParams;
  readonly payload: unknown;
  readonly timestamp: number;
}
