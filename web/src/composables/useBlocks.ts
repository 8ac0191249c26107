import { ref } from 'vue';
import type { BlockRow } from '../components/BlocksTable.vue';
import type { Session } from './useSession';

/** The 5-hour blocks of the last 24 hours or 7 days. */
export function useBlocks({ api, guarded }: Session) {
  const blocks = ref<BlockRow[]>([]);
  const blockHours = ref(24);

  const loadBlocks = () =>
    guarded(async () => {
      blocks.value = (
        await api.get<{ sessions: BlockRow[] }>(
          `/api/usage/sessions?hours_back=${blockHours.value}&limit=200`,
        )
      ).data.sessions;
    });

  function showHours(hours: number) {
    blockHours.value = hours;
    void loadBlocks();
  }

  return { blocks, blockHours, loadBlocks, showHours };
}
