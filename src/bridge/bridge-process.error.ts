import type { BridgeConfig } from '../config/app-config';

export const BRIDGE_ERROR_TYPES = [
  'PYTHON_NOT_FOUND',
  'SCRIPT_NOT_FOUND',
  'DEPENDENCY_ERROR',
  'PORT_IN_USE',
  'PROCESS_CRASH',
  'HEALTH_CHECK_TIMEOUT',
  'PROCESS_HUNG',
  'PROCESS_SPAWN_ERROR',
  'NETWORK_ERROR',
  'UNKNOWN_ERROR',
] as const;
export type BridgeErrorType = (typeof BRIDGE_ERROR_TYPES)[number];

/** What a non-admin reader may know of a failure: its kind, no path, stderr or command. */
const PUBLIC_MESSAGES: Record<BridgeErrorType, string> = {
  PYTHON_NOT_FOUND: 'no suitable Python interpreter was found for the usage bridge',
  SCRIPT_NOT_FOUND: 'the usage bridge script was not found',
  DEPENDENCY_ERROR: 'the usage bridge is missing a Python module',
  PORT_IN_USE: "the usage bridge's port is taken by another process",
  PROCESS_CRASH: 'the usage bridge process exited',
  HEALTH_CHECK_TIMEOUT: 'the usage bridge did not become healthy in time',
  PROCESS_HUNG: 'the usage bridge stopped answering and is being replaced',
  PROCESS_SPAWN_ERROR: 'the usage bridge process could not be started',
  NETWORK_ERROR: 'the usage bridge could not be reached',
  UNKNOWN_ERROR: 'the usage bridge failed',
};

/** A failure in words any client may read (sockets, non-admin status readers). */
export const publicBridgeMessage = (type: BridgeErrorType): string => PUBLIC_MESSAGES[type];

/** What went wrong with the bridge process, with what to do about it. */
export interface BridgeErrorInfo {
  readonly type: BridgeErrorType;
  readonly message: string;
  readonly troubleshooting: readonly string[];
  readonly stderrTail: readonly string[];
  readonly at: string;
}

/** Steps that fit the failure: the variable to change, the command to run, the port that is taken. */
export function troubleshootingFor(
  type: BridgeErrorType,
  bridge: Pick<BridgeConfig, 'python' | 'script' | 'port' | 'preflightImports'>,
  detail: { port?: number; module?: string; version?: string } = {},
): string[] {
  switch (type) {
    case 'PYTHON_NOT_FOUND':
      return [
        detail.version
          ? `Python ${detail.version} was found; the bridge needs Python 3.9 or newer.`
          : `No Python interpreter was found (tried BRIDGE_PYTHON=${bridge.python}, python3, python).`,
        'Install Python 3.9+ (Debian/Ubuntu: apt-get install python3; macOS: brew install python).',
        'Or point BRIDGE_PYTHON at an interpreter, e.g. BRIDGE_PYTHON=/usr/bin/python3.',
      ];
    case 'SCRIPT_NOT_FOUND':
      return [
        `The bridge script ${bridge.script} does not exist.`,
        'Run the gateway from the repository root, or set BRIDGE_SCRIPT to the path of bridge/usage_bridge.py.',
      ];
    case 'DEPENDENCY_ERROR':
      return [
        detail.module
          ? `The Python module "${detail.module}" cannot be imported.`
          : 'The bridge failed to import a Python module.',
        'The bundled bridge needs only the standard library: check that BRIDGE_PYTHON is a complete CPython 3.9+.',
        `Install what BRIDGE_PREFLIGHT_IMPORTS lists (${bridge.preflightImports.join(', ') || 'nothing'}) for that interpreter, or remove it from the list.`,
      ];
    case 'PORT_IN_USE':
      return [
        `Port ${detail.port ?? bridge.port} on 127.0.0.1 is already taken by another process.`,
        `Find it with: lsof -i :${detail.port ?? bridge.port} (or ss -ltnp).`,
        'Stop that process, choose another BRIDGE_PORT, or set BRIDGE_PORT=0 to let the gateway pick a free one.',
      ];
    case 'PROCESS_CRASH':
      return [
        'The bridge exited on its own; its last stderr lines are attached.',
        `Run it by hand to see the whole error: ${bridge.python} ${bridge.script} --port ${bridge.port}`,
      ];
    case 'HEALTH_CHECK_TIMEOUT':
      return [
        'The bridge started but did not answer GET /health in time.',
        'A very large log tree makes the first scan slow: raise BRIDGE_HEALTH_TIMEOUT_MS.',
        'Check that nothing (a firewall, a proxy variable) blocks 127.0.0.1.',
      ];
    case 'PROCESS_HUNG':
      return [
        'The bridge was running but stopped answering GET /health (stopped, swapping, or stuck); it was killed and is restarted.',
        'If it recurs, its last stderr lines are attached; BRIDGE_WATCH_INTERVAL_MS and BRIDGE_HUNG_AFTER_CHECKS set how patient the check is.',
      ];
    case 'PROCESS_SPAWN_ERROR':
      return [
        'The operating system refused to start the bridge process.',
        `Check that ${bridge.python} is executable and that the process limit is not reached.`,
      ];
    case 'NETWORK_ERROR':
      return [
        'The bridge could not be reached over HTTP; check BRIDGE_PORT and local firewall rules.',
      ];
    default:
      return ['See the stderr lines attached; set LOG_LEVEL=debug for every start-up attempt.'];
  }
}

/** A typed failure of the bridge process (pre-flight, start or run). */
export class BridgeProcessError extends Error {
  constructor(
    readonly type: BridgeErrorType,
    message: string,
    readonly troubleshooting: readonly string[],
    readonly stderrTail: readonly string[] = [],
  ) {
    super(message);
    this.name = 'BridgeProcessError';
  }

  toInfo(now: Date): BridgeErrorInfo {
    return {
      type: this.type,
      message: this.message,
      troubleshooting: this.troubleshooting,
      stderrTail: this.stderrTail,
      at: now.toISOString(),
    };
  }
}

/** Recognizes failures in the bridge's stderr (docs/design.md §2: the supervisor classifies them). */
export function classifyStderr(
  line: string,
): { type: BridgeErrorType; module?: string } | undefined {
  if (/address already in use/i.test(line)) return { type: 'PORT_IN_USE' };
  const missing = /No module named '?([\w.]+)'?/.exec(line);
  if (missing) return { type: 'DEPENDENCY_ERROR', module: missing[1] };
  if (/ModuleNotFoundError|ImportError/.test(line)) return { type: 'DEPENDENCY_ERROR' };
  return undefined;
}
