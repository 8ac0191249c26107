import { ref } from 'vue';
import type { Session } from './useSession';

export interface BridgeState {
  state: string;
  healthy: boolean;
  reason: string | null;
  troubleshooting?: string[];
}

/** The bridge's state and the database and Redis checks, for the status strip. */
export function useSystem({ api, guarded }: Session) {
  const bridge = ref<BridgeState | null>(null);
  const health = ref<{ database: string; redis: string } | null>(null);

  const loadBridge = () =>
    guarded(async () => {
      const { data } = await api.get<{
        healthy: boolean;
        process: {
          state: string;
          lastError?: { message?: string; troubleshooting?: string[] } | null;
        };
      }>('/api/usage/bridge/status');
      bridge.value = {
        state: data.process.state,
        healthy: data.healthy,
        reason: bridge.value?.reason ?? null,
        troubleshooting: data.process.lastError?.troubleshooting,
      };
    });

  const loadHealth = () =>
    guarded(async () => {
      const { data } = await api.get<{
        details?: Record<string, { status: string; reachable?: boolean }>;
        checks?: Record<string, { status: string; reachable?: boolean }>;
      }>('/health');
      const d = data.details ?? data.checks ?? {};
      health.value = {
        database: d.database?.status ?? 'unknown',
        redis: d.redis
          ? d.redis.reachable === false
            ? 'down'
            : d.redis.reachable
              ? 'up'
              : 'not used'
          : 'not used',
      };
    });

  /** A `bridge_status` event (or the one in `initial`). */
  function bridgeChanged(update: { state: string; healthy: boolean; reason: string | null }) {
    bridge.value = { ...(bridge.value ?? { troubleshooting: undefined }), ...update };
  }

  return { bridge, health, loadBridge, loadHealth, bridgeChanged };
}
