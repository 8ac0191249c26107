import type uPlot from 'uplot';
import { computed, shallowRef } from 'vue';
import { stackedOptions } from '../lib/charts';
import { formatMoney } from '../lib/format';
import { stack } from '../lib/stack';
import type { Session } from './useSession';

type DailyRow = { date: string; model_breakdowns: { model: string; cost_usd: number }[] };

/** Cost per day over the last 30 days, stacked by model. */
export function useDaily({ api, guarded }: Session) {
  const daily = shallowRef<DailyRow[]>([]);

  const loadDaily = () =>
    guarded(async () => {
      const since = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
      daily.value = (
        await api.get<{ daily: DailyRow[] }>(`/api/usage/reports/daily?since=${since}`)
      ).data.daily;
    });

  const dailyStack = computed(() => {
    const parts = new Map<string, number[]>();
    daily.value.forEach((row, i) => {
      for (const b of row.model_breakdowns ?? []) {
        if (!parts.has(b.model)) parts.set(b.model, new Array<number>(daily.value.length).fill(0));
        parts.get(b.model)![i] += b.cost_usd;
      }
    });
    return stack(parts);
  });
  const dailyOptions = computed(() =>
    stackedOptions(
      dailyStack.value.names,
      (v) => formatMoney(v),
      () => [(Date.now() - 30 * 86_400_000) / 1000, (Date.now() + 43_200_000) / 1000],
    ),
  );
  const dailyData = computed<uPlot.AlignedData>(() => [
    daily.value.map((r) => Date.parse(`${r.date}T12:00:00`) / 1000),
    ...dailyStack.value.cumulative,
  ]);

  return { daily, loadDaily, dailyOptions, dailyData };
}
