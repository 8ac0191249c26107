import { ref } from 'vue';
import type { Session } from './useSession';

export interface AlertRow {
  id: number;
  title: string;
  severity: string;
  text: string;
  timestamp: number;
}

const SHOWN = 20;

/** The newest alerts: the stored ones (raised while the page was closed too) and live ones. */
export function useAlerts({ api, guarded }: Session) {
  const alerts = ref<AlertRow[]>([]);

  const merge = (rows: AlertRow[]) => {
    const known = new Set(rows.map((a) => a.id));
    alerts.value = [...alerts.value.filter((a) => !known.has(a.id)), ...rows]
      .sort((a, b) => b.id - a.id)
      .slice(0, SHOWN);
  };

  const loadAlerts = () =>
    guarded(async () => {
      merge((await api.get<{ alerts: AlertRow[] }>(`/api/alerts?limit=${SHOWN}`)).data.alerts);
    });

  /** An `alert` event. */
  const alertRaised = (alert: AlertRow) => merge([alert]);

  return { alerts, loadAlerts, alertRaised };
}
