import { computed, ref, shallowRef, type Ref } from 'vue';
import type { Stats } from '../components/BlockCard.vue';
import type { DataSource } from '../lib/api';
import type { Session } from './useSession';

/** The current block's stats, where they came from and how old they are; the plan setting. */
export function useUsage({ api, guarded }: Session, now: Ref<number>) {
  const stats = shallowRef<Stats | null>(null);
  const source = ref<DataSource | null>(null);
  const sourceAge = ref<number | null>(null);
  const sourceAt = ref(0);
  const saving = ref(false);

  /** The age shown grows with time for anything not live from the bridge. */
  const age = computed(() =>
    source.value && source.value !== 'bridge'
      ? (sourceAge.value ?? 0) + Math.max(0, (now.value - sourceAt.value) / 1000)
      : null,
  );

  function setStats(data: Stats, from: DataSource | null, ageSeconds: number | null) {
    stats.value = data;
    source.value = from;
    sourceAge.value = ageSeconds;
    sourceAt.value = Date.now();
  }

  const loadStats = () =>
    guarded(async () => {
      const answer = await api.get<Stats>('/api/usage/stats');
      setStats(answer.data, answer.source, answer.age);
    });

  async function savePlan(plan: string, customLimit: number | null) {
    saving.value = true;
    await guarded(async () => {
      await api.post('/api/usage/config', { plan, custom_limit_tokens: customLimit });
      await loadStats();
    });
    saving.value = false;
  }

  return { stats, source, age, saving, setStats, loadStats, savePlan };
}
