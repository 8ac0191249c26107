import type uPlot from 'uplot';
import uPlotLib from 'uplot';
import { colourFor } from './format';

const bars = uPlotLib.paths.bars!({ size: [0.7, 40] });

/** Stacked bars, one series per name (a name keeps its colour from load to load). */
export function stackedOptions(
  names: string[],
  format: (v: number) => string,
  range: () => [number, number],
): Omit<uPlot.Options, 'width' | 'height'> {
  return {
    // Labels only: live values would read "--" whenever the pointer is off the chart.
    legend: { show: true, live: false },
    scales: { x: { time: true, range: () => range() } },
    axes: [{}, { size: 56, values: (_u, vals) => vals.map((v) => format(v)) }],
    series: [
      {},
      ...names.map((name) => ({
        label: name,
        fill: colourFor(name),
        stroke: colourFor(name),
        width: 0,
        paths: bars,
        points: { show: false },
      })),
    ],
  };
}
