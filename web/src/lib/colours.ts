import { ref } from 'vue';

/**
 * Series colours for the stacked charts, one palette per colour scheme. Each was chosen (and
 * web/src/lib/colours.spec.ts checks) so that any two of its colours stay apart — CIELAB ΔE ≥ 25
 * — in normal vision and simulated protanopia, deuteranopia and tritanopia (Machado et al. 2009),
 * and each stands out from its card by at least 3:1 (WCAG 2.2, non-text contrast).
 */
export const PALETTES = {
  light: ['#3999ac', '#c2850a', '#31136c', '#790606', '#60204a', '#b26ef7', '#f53d5c', '#2525f4'],
  dark: ['#1fad96', '#a60df2', '#f4f425', '#bf5540', '#a193ec', '#b4f0a8', '#25f4f4', '#e0b152'],
} as const;
/** The cards the charts sit on (styles.css `--card`). */
export const CARDS = { light: '#ffffff', dark: '#1a1f29' } as const;
export type Scheme = keyof typeof PALETTES;

const query =
  typeof window !== 'undefined' && typeof window.matchMedia === 'function'
    ? window.matchMedia('(prefers-color-scheme: dark)')
    : undefined;
/** The page's colour scheme, reactive: charts are rebuilt in the other palette when it changes. */
export const colourScheme = ref<Scheme>(query?.matches ? 'dark' : 'light');
query?.addEventListener('change', (e) => (colourScheme.value = e.matches ? 'dark' : 'light'));

function hash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A colour per name, no two alike while there are no more names than colours: names in sorted
 * order each take the colour their name hashes to, or the next one still free. So a name keeps
 * its colour from load to load as long as the set of names does (a hash alone gave two models the
 * same orange). Beyond the palette's size colours repeat.
 */
export function seriesColours(names: readonly string[], scheme: Scheme): Map<string, string> {
  const palette = PALETTES[scheme];
  const taken = new Set<number>();
  const colours = new Map<string, string>();
  for (const name of [...new Set(names)].sort()) {
    let slot = hash(name) % palette.length;
    if (taken.size < palette.length) while (taken.has(slot)) slot = (slot + 1) % palette.length;
    taken.add(slot);
    colours.set(name, palette[slot]);
  }
  return colours;
}
