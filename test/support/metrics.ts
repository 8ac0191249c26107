/**
 * One sample's value on an instance's `/metrics` (Prometheus text): `series` is the sample as
 * written there, labels included (`realtime_replay_waits_total{transport="stream"}`); 0 when absent.
 */
export async function metricValue(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
