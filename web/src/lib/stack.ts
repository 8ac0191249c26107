/**
 * Stacked bars for uPlot, which draws series over each other: series k holds the sum of parts
 * k…n-1, so drawing them in order leaves each part's own band visible. Parts are ordered largest
 * first (the biggest at the bottom).
 */
export function stack(parts: Map<string, number[]>): {
  names: string[];
  cumulative: number[][];
  own: number[][];
} {
  const names = [...parts.keys()].sort(
    (a, b) => sum(parts.get(b)!) - sum(parts.get(a)!) || a.localeCompare(b),
  );
  const own = names.map((n) => parts.get(n)!);
  const length = own[0]?.length ?? 0;
  const cumulative = names.map((_, k) =>
    Array.from({ length }, (_v, i) => own.slice(k).reduce((s, row) => s + (row[i] ?? 0), 0)),
  );
  return { names, cumulative, own };
}

function sum(values: number[]): number {
  return values.reduce((s, v) => s + v, 0);
}
