import type uPlot from 'uplot';
import { computed, ref, shallowRef } from 'vue';
import { stackedOptions } from '../lib/charts';
import { formatMoney, shortModel } from '../lib/format';
import { stack } from '../lib/stack';
import type { Session } from './useSession';

interface Part {
  cost_usd: number;
}
type DailyRow = {
  date: string;
  model_breakdowns?: (Part & { model: string })[];
  agent_breakdowns?: (Part & { agent: string })[];
};

/** The coding agents a report can be filtered to, as the dashboard names them. */
export const AGENT_NAMES: Record<string, string> = {
  all: 'All agents',
  claude: 'Claude Code',
  codex: 'Codex',
  gemini: 'Gemini CLI',
  opencode: 'OpenCode',
  amp: 'Amp',
};

/** Cost per day over the last 30 days, stacked by model or by agent, of one agent or all. */
export function useDaily({ api, guarded }: Session) {
  const daily = shallowRef<DailyRow[]>([]);
  const by = ref<'model' | 'agent'>('model');
  const agent = ref('all');

  const loadDaily = () =>
    guarded(async () => {
      const since = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
      const query = new URLSearchParams({ since, agent: agent.value });
      daily.value = (
        await api.get<{ daily: DailyRow[] }>(`/api/usage/reports/daily?${query}`)
      ).data.daily;
    });

  const dailyStack = computed(() => {
    const parts = new Map<string, number[]>();
    daily.value.forEach((row, i) => {
      const pieces =
        by.value === 'agent'
          ? (row.agent_breakdowns ?? []).map(
              (b) => [AGENT_NAMES[b.agent] ?? b.agent, b.cost_usd] as const,
            )
          : (row.model_breakdowns ?? []).map((b) => [b.model, b.cost_usd] as const);
      for (const [name, cost] of pieces) {
        if (!parts.has(name)) parts.set(name, new Array<number>(daily.value.length).fill(0));
        parts.get(name)![i] += cost;
      }
    });
    return stack(parts);
  });
  const dailyOptions = computed(() =>
    stackedOptions(
      dailyStack.value.names,
      (v) => formatMoney(v),
      () => [(Date.now() - 30 * 86_400_000) / 1000, (Date.now() + 43_200_000) / 1000],
      // By model: short names, as the daily table shows them (the full id on hover).
      by.value === 'model' ? shortModel : undefined,
    ),
  );
  const dailyData = computed<uPlot.AlignedData>(() => [
    daily.value.map((r) => Date.parse(`${r.date}T12:00:00`) / 1000),
    ...dailyStack.value.cumulative,
  ]);
  const setAgent = (value: string) => {
    agent.value = value;
    void loadDaily();
  };

  return { daily, loadDaily, dailyOptions, dailyData, by, agent, setAgent };
}
