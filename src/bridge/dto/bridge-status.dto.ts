import type { BridgeErrorType } from '../bridge-process.error';
import type { CircuitStateName, SupervisorState } from '../bridge-status.event';
import type { UpstreamName } from '../bridge-client';

export class BridgeErrorDto {
  /** PYTHON_NOT_FOUND, SCRIPT_NOT_FOUND, DEPENDENCY_ERROR, PORT_IN_USE, PROCESS_CRASH, HEALTH_CHECK_TIMEOUT, PROCESS_HUNG, PROCESS_SPAWN_ERROR, NETWORK_ERROR or UNKNOWN_ERROR */
  type!: BridgeErrorType;
  message!: string;
  /** Steps that fit this failure (admins only; empty otherwise). */
  troubleshooting!: string[];
  /** The bridge's last stderr lines, at most 50 (admins only; empty otherwise). */
  stderr_tail!: string[];
  /** ISO-8601 time of the failure. */
  at!: string;
}

export class BridgeProcessDto {
  state!: SupervisorState;
  pid!: number | null;
  isReady!: boolean;
  isRestarting!: boolean;
  restartAttempts!: number;
  /** Seconds since the bridge became ready. */
  uptime!: number | null;
  lastHealthCheck!: string | null;
  lastError!: BridgeErrorDto | null;
}

export class CircuitDto {
  state!: CircuitStateName;
  /** Consecutive failures counted by the breaker. */
  failures!: number;
  openedAt!: string | null;
}

export class UpstreamDto {
  name!: UpstreamName;
  url!: string | null;
  circuit!: CircuitStateName;
  failures!: number;
  openedAt!: string | null;
}

/** GET /api/usage/bridge/status (docs/design.md §4). */
export class BridgeStatusDto {
  enabled!: boolean;
  /** spawn, external or off */
  mode!: string;
  url!: string | null;
  /** Per-attempt timeout, ms. */
  timeout!: number;
  retries!: number;
  healthy!: boolean;
  /** ISO-8601 time of this answer. */
  timestamp!: string;
  process!: BridgeProcessDto;
  circuit!: CircuitDto;
  upstreams!: UpstreamDto[];
  /** `full` for admins; `summary` hides stderr, troubleshooting, local paths and URLs. */
  details!: 'full' | 'summary';
}
