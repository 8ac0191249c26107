import type { HookEventDto } from '../dto/hook-event.dto';

/** An invocation not finished this long after its PreToolUse counts as abandoned. */
export const ABANDON_AFTER_MS = 10 * 60 * 1000;
const HOUR_MS = 3_600_000;
/** Hourly buckets are kept this long (the longest metrics window). */
export const RETAIN_HOURS = 7 * 24;
/** Durations kept per skill and hour for percentiles (a reservoir beyond that). */
const DURATIONS_PER_BUCKET = 256;
/** z-score magnitude that makes an anomaly. */
const Z_THRESHOLD = 2;
/**
 * Floors for a zero (or tiny) baseline standard deviation, so a perfectly steady baseline still
 * yields a finite score: 0.1 for completion (a 1/0 series), 10 % of the mean for durations.
 */
const MIN_COMPLETION_SD = 0.1;
const MIN_DURATION_SD_SHARE = 0.1;

export type AnomalyType = 'performance_drop' | 'performance_spike' | 'latency_spike';

export interface SkillRow {
  readonly skill_name: string;
  readonly total_invocations: number;
  readonly completed: number;
  readonly failed: number;
  readonly abandoned: number;
  /** completed / (completed + failed) × 100; null before anything finished. */
  readonly completion_rate: number | null;
  readonly avg_duration_seconds: number | null;
  readonly p95_duration_seconds: number | null;
}

export interface Anomaly {
  readonly skill_name: string;
  readonly detected_at: string;
  readonly anomaly_type: AnomalyType;
  readonly deviation_score: number;
  readonly baseline_value: number;
  readonly observed_value: number;
}

interface Bucket {
  completed: number;
  failed: number;
  abandoned: number;
  durCount: number;
  durSum: number;
  durSumSq: number;
  /** Completions seen (for the reservoir). */
  seen: number;
  durations: number[];
}

interface Pending {
  readonly skill: string;
  readonly startedAt: number;
}

const emptyBucket = (): Bucket => ({
  completed: 0,
  failed: 0,
  abandoned: 0,
  durCount: 0,
  durSum: 0,
  durSumSq: 0,
  seen: 0,
  durations: [],
});

/**
 * A skill name is at most this long (`Skill:` included): it becomes a metrics key, a room name,
 * an alert key (200 characters in the database) and alert text.
 */
export const MAX_SKILL_NAME_LENGTH = 100;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** A name from a hook payload as a skill name: control characters out, capped (with `…`). */
function cappedName(name: string): string {
  const clean = name.replace(CONTROL, '');
  return clean.length > MAX_SKILL_NAME_LENGTH
    ? `${clean.slice(0, MAX_SKILL_NAME_LENGTH - 1)}…`
    : clean;
}

/** `tool_name`, or `Skill:<name>` for the Skill tool (docs/design.md §5 skill metrics). */
export function skillNameOf(event: HookEventDto): string | null {
  const tool = event.tool_name;
  if (!tool) return null;
  if (tool === 'Skill') {
    const input = event.payload.tool_input as { skill?: unknown } | undefined;
    const skill = typeof input?.skill === 'string' ? cappedName(`Skill:${input.skill}`) : '';
    return skill.length > 'Skill:'.length ? skill : 'Skill';
  }
  return cappedName(tool);
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/**
 * Skill invocations kept current incrementally: a PreToolUse opens an invocation, its
 * PostToolUse / PostToolUseFailure (same `tool_use_id`) closes it, and after 10 minutes unmatched
 * it is abandoned. Results go into hourly buckets per skill (7 days), so any window and the
 * anomaly baselines are sums over at most 168 buckets — never a scan of the events.
 */
export class SkillMetricsTracker {
  private readonly pending = new Map<string, Pending>();
  private readonly skills = new Map<string, Map<number, Bucket>>();

  constructor(private readonly now: () => number = Date.now) {}

  ingest(event: HookEventDto): void {
    const type = event.hook_event_type;
    if (type !== 'PreToolUse' && type !== 'PostToolUse' && type !== 'PostToolUseFailure') return;
    const id = event.tool_use_id;
    const skill = skillNameOf(event);
    if (!id || !skill) return;
    if (type === 'PreToolUse') {
      this.pending.set(id, { skill, startedAt: event.timestamp });
      return;
    }
    const open = this.pending.get(id);
    if (!open) return; // its start is older than what we track, or it never came
    this.pending.delete(id);
    const reported = (event.payload as { duration_ms?: unknown }).duration_ms;
    const durationMs =
      typeof reported === 'number' && Number.isFinite(reported) && reported >= 0
        ? reported
        : Math.max(0, event.timestamp - open.startedAt);
    const bucket = this.bucket(open.skill, event.timestamp);
    if (type === 'PostToolUse') bucket.completed += 1;
    else bucket.failed += 1;
    bucket.durCount += 1;
    bucket.durSum += durationMs;
    bucket.durSumSq += durationMs * durationMs;
    bucket.seen += 1;
    if (bucket.durations.length < DURATIONS_PER_BUCKET) bucket.durations.push(durationMs);
    else {
      const slot = Math.floor(Math.random() * bucket.seen);
      if (slot < DURATIONS_PER_BUCKET) bucket.durations[slot] = durationMs;
    }
  }

  /** Abandons overdue invocations and drops buckets past retention (call on every tick). */
  sweep(): void {
    const now = this.now();
    for (const [id, open] of this.pending) {
      if (now - open.startedAt < ABANDON_AFTER_MS) continue;
      this.pending.delete(id);
      this.bucket(open.skill, open.startedAt + ABANDON_AFTER_MS).abandoned += 1;
    }
    const oldest = Math.floor(now / HOUR_MS) - RETAIN_HOURS;
    for (const [skill, buckets] of this.skills) {
      for (const hour of buckets.keys()) if (hour < oldest) buckets.delete(hour);
      if (buckets.size === 0) this.skills.delete(skill);
    }
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Rows for every skill with activity in the window, most invoked first. */
  rows(windowMs: number): SkillRow[] {
    const rows: SkillRow[] = [];
    for (const skill of this.skills.keys()) {
      const row = this.row(skill, windowMs);
      if (row && row.total_invocations > 0) rows.push(row);
    }
    return rows.sort(
      (a, b) =>
        b.total_invocations - a.total_invocations || a.skill_name.localeCompare(b.skill_name),
    );
  }

  row(skill: string, windowMs: number): SkillRow | undefined {
    const buckets = this.skills.get(skill);
    if (!buckets) return undefined;
    const sum = this.sum(buckets, this.now() - windowMs, Number.POSITIVE_INFINITY);
    const finished = sum.completed + sum.failed;
    return {
      skill_name: skill,
      total_invocations: finished + sum.abandoned,
      completed: sum.completed,
      failed: sum.failed,
      abandoned: sum.abandoned,
      completion_rate: finished ? round((sum.completed / finished) * 100, 2) : null,
      avg_duration_seconds: sum.durCount ? round(sum.durSum / sum.durCount / 1000) : null,
      p95_duration_seconds: sum.durations.length
        ? round((percentile(sum.durations, 0.95) as number) / 1000)
        : null,
    };
  }

  /**
   * z-score anomalies: the baseline is the last 24 h without the last hour (≥ 5 samples), the
   * observation the last hour (≥ 2 invocations); |z| ≥ 2 on completion (drop or spike) and
   * z ≥ 2 on duration (latency spike).
   */
  anomalies(skill?: string): Anomaly[] {
    const now = this.now();
    const detectedAt = new Date(now).toISOString();
    const found: Anomaly[] = [];
    for (const [name, buckets] of this.skills) {
      if (skill !== undefined && name !== skill) continue;
      const base = this.sum(buckets, now - 24 * HOUR_MS, now - HOUR_MS);
      const last = this.sum(buckets, now - HOUR_MS, Number.POSITIVE_INFINITY);

      const n = base.completed + base.failed;
      const m = last.completed + last.failed;
      if (n >= 5 && m >= 2) {
        const mean = base.completed / n;
        // Sample standard deviation of the 1/0 series: n/(n-1) · p(1-p).
        const sd = Math.max(Math.sqrt((n / (n - 1)) * mean * (1 - mean)), MIN_COMPLETION_SD);
        const observed = last.completed / m;
        const z = (observed - mean) / sd;
        if (Math.abs(z) >= Z_THRESHOLD)
          found.push({
            skill_name: name,
            detected_at: detectedAt,
            anomaly_type: z < 0 ? 'performance_drop' : 'performance_spike',
            deviation_score: round(z, 2),
            baseline_value: round(mean * 100, 2),
            observed_value: round(observed * 100, 2),
          });
      }

      if (base.durCount >= 5 && last.durCount >= 2) {
        const mean = base.durSum / base.durCount;
        const variance =
          (base.durSumSq - (base.durSum * base.durSum) / base.durCount) / (base.durCount - 1);
        const sd = Math.max(Math.sqrt(Math.max(0, variance)), mean * MIN_DURATION_SD_SHARE, 1);
        const observed = last.durSum / last.durCount;
        const z = (observed - mean) / sd;
        if (z >= Z_THRESHOLD)
          found.push({
            skill_name: name,
            detected_at: detectedAt,
            anomaly_type: 'latency_spike',
            deviation_score: round(z, 2),
            baseline_value: round(mean / 1000),
            observed_value: round(observed / 1000),
          });
      }
    }
    return found.sort((a, b) => Math.abs(b.deviation_score) - Math.abs(a.deviation_score));
  }

  private bucket(skill: string, at: number): Bucket {
    let buckets = this.skills.get(skill);
    if (!buckets) this.skills.set(skill, (buckets = new Map()));
    const hour = Math.floor(at / HOUR_MS);
    let bucket = buckets.get(hour);
    if (!bucket) buckets.set(hour, (bucket = emptyBucket()));
    return bucket;
  }

  /** Sums the buckets whose hour starts in [from, to). */
  private sum(buckets: Map<number, Bucket>, from: number, to: number): Bucket {
    const total = emptyBucket();
    const first = Math.floor(from / HOUR_MS);
    const last =
      to === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : Math.floor(to / HOUR_MS) - 1;
    for (const [hour, b] of buckets) {
      if (hour < first || hour > last) continue;
      total.completed += b.completed;
      total.failed += b.failed;
      total.abandoned += b.abandoned;
      total.durCount += b.durCount;
      total.durSum += b.durSum;
      total.durSumSq += b.durSumSq;
      total.durations.push(...b.durations);
    }
    return total;
  }
}
