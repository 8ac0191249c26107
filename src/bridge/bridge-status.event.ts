export const BRIDGE_STATUS_EVENT = 'bridge.status';

export type SupervisorState =
  | 'disabled'
  | 'external'
  | 'idle'
  | 'starting'
  | 'ready'
  | 'restarting'
  | 'failed'
  | 'stopping'
  | 'stopped';

export type CircuitStateName = 'closed' | 'open' | 'half-open' | 'isolated';

/** Published on Nest's event emitter once per change of any part (docs/design.md §5 `bridge_status`). */
export interface BridgeStatusEvent {
  readonly healthy: boolean;
  /** The supervisor's state (`external` when the bridge is not ours to run). */
  readonly state: SupervisorState;
  readonly circuit: CircuitStateName;
  readonly reason: string | null;
  readonly timestamp: number;
}
