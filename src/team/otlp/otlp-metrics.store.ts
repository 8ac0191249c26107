import { Injectable } from '@nestjs/common';
import { LessThan, type EntityManager } from 'typeorm';
import { DatabaseWrites } from '../../database/database-writes';
import { chunks, lockInOrder, SqlParams } from '../../database/sql';
import type { Point } from './otlp-decode';
import { type MinuteDelta, minuteDeltas, type SeriesState } from './otlp-deltas';
import { OtlpPoint, OtlpSeries } from './otlp-series.entity';

/** pg_advisory_xact_lock's first key for cumulative series. */
const SERIES_LOCK_SPACE = 0x4f746c70;

/** The counters' tables: points counted, cumulative series' states, per-minute sums. */
@Injectable()
export class OtlpMetricsStore {
  constructor(private readonly writes: DatabaseWrites) {}

  /**
   * Counts the points not seen before (cumulative ones as deltas) into their minutes, in one
   * transaction; answers how many were new.
   */
  count(member: string, points: readonly Point[], now: number): Promise<number> {
    return this.writes.transaction(async (m) => {
      const unique = [...new Map(points.map((p) => [p.key, p])).values()].sort((a, b) =>
        a.key < b.key ? -1 : 1,
      );
      const series = [...new Set(unique.filter((p) => p.cumulative).map((p) => p.series))].sort();
      await lockInOrder(m, SERIES_LOCK_SPACE, series);
      const claimed = await claim(
        m,
        unique.map((p) => p.key),
        now,
      );
      const fresh = unique.filter((p) => claimed.has(p.key));
      const counted = minuteDeltas(fresh, await readStates(m, series), now);
      await saveStates(m, counted.states);
      await addMinutes(m, member, counted.minutes);
      return fresh.length;
    });
  }

  /** Forgets counted points and idle cumulative series older than `before`. */
  async prune(before: number): Promise<number> {
    const [points, series] = await this.writes.transaction(async (m) => [
      await m.delete(OtlpPoint, { receivedAt: LessThan(before) }),
      await m.delete(OtlpSeries, { updatedAt: LessThan(before) }),
    ]);
    return (points.affected ?? 0) + (series.affected ?? 0);
  }
}

/**
 * The keys not counted before, claimed by inserting them (a resend of the same batch to another
 * instance at the same moment finds them taken, not a key violation).
 */
async function claim(m: EntityManager, keys: readonly string[], now: number): Promise<Set<string>> {
  const claimed = new Set<string>();
  for (const chunk of chunks(keys, 500)) {
    const params = SqlParams.for(m);
    const rows = chunk.map((key) => params.row([key, now]));
    const inserted = (await m.query(
      `INSERT INTO otlp_points (point_key, received_at) VALUES ${rows.join(', ')} ` +
        'ON CONFLICT (point_key) DO NOTHING RETURNING point_key',
      params.values,
    )) as { point_key: string }[];
    for (const row of inserted) claimed.add(row.point_key);
  }
  return claimed;
}

/** The cumulative series' last states. */
async function readStates(
  m: EntityManager,
  keys: readonly string[],
): Promise<Map<string, SeriesState>> {
  const states = new Map<string, SeriesState>();
  for (const chunk of chunks(keys, 500)) {
    const params = SqlParams.for(m);
    const rows = (await m.query(
      `SELECT series_key, start_ns, time_ns, value, updated_at FROM otlp_series WHERE series_key ${params.in(chunk)}`,
      params.values,
    )) as Record<string, string | number>[];
    for (const row of rows)
      states.set(String(row.series_key), {
        seriesKey: String(row.series_key),
        startNs: String(row.start_ns),
        timeNs: String(row.time_ns),
        value: Number(row.value),
        updatedAt: Number(row.updated_at),
      });
  }
  return states;
}

async function saveStates(m: EntityManager, states: readonly SeriesState[]): Promise<void> {
  for (const chunk of chunks(states, 200)) {
    const params = SqlParams.for(m);
    const rows = chunk.map((s) =>
      params.row([s.seriesKey, s.startNs, s.timeNs, s.value, s.updatedAt]),
    );
    await m.query(
      `INSERT INTO otlp_series (series_key, start_ns, time_ns, value, updated_at) VALUES ${rows.join(', ')} ` +
        'ON CONFLICT (series_key) DO UPDATE SET start_ns = excluded.start_ns, time_ns = excluded.time_ns, ' +
        'value = excluded.value, updated_at = excluded.updated_at',
      params.values,
    );
  }
}

/** Adds each minute's delta to what the minute holds (in key order, so writers never cross). */
async function addMinutes(
  m: EntityManager,
  member: string,
  rows: readonly MinuteDelta[],
): Promise<void> {
  for (const chunk of chunks(rows, 200)) {
    const params = SqlParams.for(m);
    const values = chunk.map((r) => params.row([member, r.minute, r.metric, r.label, r.value]));
    await m.query(
      `INSERT INTO usage_metric_minutes (member, minute, metric, label, value) VALUES ${values.join(', ')} ` +
        'ON CONFLICT (member, minute, metric, label) DO UPDATE SET value = usage_metric_minutes.value + excluded.value',
      params.values,
    );
  }
}
