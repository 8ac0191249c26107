import { ref } from 'vue';
import type { Anomaly, SkillRow } from '../components/SkillsPanel.vue';
import type { Session } from './useSession';

/** Skill metrics: loaded, then pushed by `metrics_update` for the chosen skill (or the top 10). */
export function useSkills({ api, guarded }: Session) {
  const skills = ref<SkillRow[]>([]);
  const anomalies = ref<Anomaly[]>([]);
  const chosenSkill = ref<string | null>(null);

  const loadSkills = () =>
    guarded(async () => {
      const { data } = await api.get<{ top_skills: SkillRow[]; anomalies: Anomaly[] }>(
        '/api/skills/metrics',
      );
      skills.value = data.top_skills;
      anomalies.value = data.anomalies;
    });

  /** A `metrics_update` event. */
  function metricsUpdated(data: { top_skills?: SkillRow[]; anomalies?: Anomaly[] }) {
    skills.value = data.top_skills ?? skills.value;
    anomalies.value = data.anomalies ?? anomalies.value;
  }

  return { skills, anomalies, chosenSkill, loadSkills, metricsUpdated };
}
