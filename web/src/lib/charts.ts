import type uPlot from 'uplot';
import uPlotLib from 'uplot';
import { colourScheme, seriesColours } from './colours';

const bars = uPlotLib.paths.bars!({ size: [0.7, 40] });

/**
 * Stacked bars, one series per name, each its own colour in the page's scheme (colours.ts).
 * `label` gives the legend's words for a name (short model names, as the tables show them); the
 * full name is the legend entry's tooltip.
 */
export function stackedOptions(
  names: string[],
  format: (v: number) => string,
  range: () => [number, number],
  label: (name: string) => string = (name) => name,
): Omit<uPlot.Options, 'width' | 'height'> {
  const colours = seriesColours(names, colourScheme.value);
  return {
    // Labels only: live values would read "--" whenever the pointer is off the chart.
    legend: { show: true, live: false },
    scales: { x: { time: true, range: () => range() } },
    axes: [{}, { size: 56, values: (_u, vals) => vals.map((v) => format(v)) }],
    series: [
      {},
      ...names.map((name) => ({
        label: label(name),
        fill: colours.get(name),
        stroke: colours.get(name),
        width: 0,
        paths: bars,
        points: { show: false },
      })),
    ],
    hooks: {
      init: [
        (u: uPlot) => {
          // uPlot's legend rows follow its series (the x series' row only with a live legend).
          const rows = u.root.querySelectorAll<HTMLElement>('.u-legend .u-series');
          const first = rows.length - names.length;
          names.forEach((name, k) => {
            const row = rows[first + k];
            if (row) {
              row.title = name;
              row.dataset.series = name;
            }
          });
        },
      ],
    },
  };
}
