import type uPlot from 'uplot';
import { computed, ref, shallowRef } from 'vue';
import { stackedOptions } from '../lib/charts';
import { formatMoney } from '../lib/format';
import { stack } from '../lib/stack';
import { AGENT_NAMES } from './useDaily';
import type { Session } from './useSession';

interface Period {
  cost_usd: number;
  total_tokens: number;
}

/** One member of GET /api/team/usage (the fields the Team view shows). */
export interface TeamMember {
  member: string;
  revoked: boolean;
  today: Period;
  week: Period;
  month: Period;
  block: { percent: number | null; elapsed_percent: number; cost_per_hour: number } | null;
  last_activity: string | null;
  machines: string[];
  official: { five_hour: { used_percentage: number } | null };
  official_codex: { five_hour: { used_percentage: number } | null } | undefined;
}

interface DailyRow {
  date: string;
  member?: string;
  agent?: string;
  cost_usd: number;
  models: string[];
}

export interface TeamFilters {
  member: string;
  machine: string;
  model: string;
  agent: string;
}

/** What the Team view's chart stacks its cost by. */
export type TeamStack = 'member' | 'agent';
export const TEAM_AGENTS = ['claude', 'codex', 'gemini', 'opencode', 'amp'];

const DAYS = 30;
const SPARK_DAYS = 14;

/** The Team view's data: the members table, daily cost per member, filters. */
export function useTeam({ api, guarded }: Session) {
  const members = shallowRef<TeamMember[]>([]);
  const daily = shallowRef<DailyRow[]>([]);
  const filters = ref<TeamFilters>({ member: '', machine: '', model: '', agent: '' });
  const stackBy = ref<TeamStack>('member');
  // The same days grouped by agent (the chart's stack when it is by agent).
  const byAgent = shallowRef<DailyRow[]>([]);
  const loaded = ref(false);

  const days = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      new Date(Date.now() - (n - 1 - i) * 86_400_000).toISOString().slice(0, 10),
    );

  const load = () =>
    guarded(async () => {
      const since = days(DAYS)[0];
      const query = new URLSearchParams({ group_by: 'member', since, breakdown: 'false' });
      for (const [key, value] of Object.entries(filters.value)) if (value) query.set(key, value);
      const agents = new URLSearchParams(query);
      agents.set('group_by', 'agent');
      const [team, report, perAgent] = await Promise.all([
        api.get<{ members: TeamMember[] }>('/api/team/usage'),
        api.get<{ daily: DailyRow[] }>(`/api/team/usage/reports/daily?${query}`),
        stackBy.value === 'agent'
          ? api.get<{ daily: DailyRow[] }>(`/api/team/usage/reports/daily?${agents}`)
          : Promise.resolve({ data: { daily: [] as DailyRow[] } }),
      ]);
      members.value = team.data.members;
      daily.value = report.data.daily;
      byAgent.value = perAgent.data.daily;
      loaded.value = true;
    });

  /** Choices for the filters: members and machines from the summary, models from the rows. */
  const choices = computed(() => ({
    members: members.value.map((m) => m.member),
    machines: [...new Set(members.value.flatMap((m) => m.machines))].sort(),
    models: [...new Set(daily.value.flatMap((r) => r.models))].sort(),
    agents: TEAM_AGENTS,
  }));

  /** A member's cost per day over the last 14 days (the table's sparkline). */
  const sparkOf = (member: string): number[] => {
    const spark = days(SPARK_DAYS);
    const cost = new Map(
      daily.value.filter((r) => r.member === member).map((r) => [r.date, r.cost_usd] as const),
    );
    return spark.map((d) => cost.get(d) ?? 0);
  };

  const stacked = computed(() => (stackBy.value === 'agent' ? byAgent.value : daily.value));
  const dates = computed(() => [...new Set(stacked.value.map((r) => r.date))].sort());
  const perMember = computed(() => {
    const index = new Map(dates.value.map((d, i) => [d, i]));
    const parts = new Map<string, number[]>();
    for (const row of stacked.value) {
      const name = String(row[stackBy.value] ?? '');
      if (!parts.has(name)) parts.set(name, new Array<number>(dates.value.length).fill(0));
      parts.get(name)![index.get(row.date)!] += row.cost_usd;
    }
    return stack(parts);
  });
  const chartOptions = computed(() =>
    stackedOptions(
      perMember.value.names,
      (v) => formatMoney(v),
      () => [(Date.now() - DAYS * 86_400_000) / 1000, (Date.now() + 43_200_000) / 1000],
      stackBy.value === 'agent' ? (agent) => AGENT_NAMES[agent] ?? agent : undefined,
    ),
  );
  const chartData = computed<uPlot.AlignedData>(() => [
    dates.value.map((d) => Date.parse(`${d}T12:00:00`) / 1000),
    ...perMember.value.cumulative,
  ]);

  const setStack = (value: TeamStack) => {
    stackBy.value = value;
    void load();
  };

  return {
    members,
    daily,
    filters,
    loaded,
    load,
    choices,
    sparkOf,
    chartOptions,
    chartData,
    stackBy,
    setStack,
  };
}
