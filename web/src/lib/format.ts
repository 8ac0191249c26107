/** Display helpers for the dashboard: one way to write each kind of number. */

export function formatTokens(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 1_000_000) return `${(n / 1_000_000).toFixed(n >= 10_000_000 ? 1 : 2)}M`;
  if (Math.abs(n) >= 10_000) return `${Math.round(n / 1000)}k`;
  if (Math.abs(n) >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return String(Math.round(n));
}

export function formatMoney(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return `$${n.toFixed(2)}`;
}

export function formatPercent(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return `${n < 10 ? n.toFixed(1) : Math.round(n)}%`;
}

/** How close a limit is, as the page colours it: ok below 50 %, warn from 50 %, bad from 80 %. */
export function limitLevel(percentage: number): 'ok' | 'warn' | 'bad' {
  return percentage >= 80 ? 'bad' : percentage >= 50 ? 'warn' : 'ok';
}

/** 135 → "2h 15m"; 42 → "42m"; negative → "0m". */
export function formatMinutes(minutes: number): string {
  const m = Math.max(0, Math.round(minutes));
  return m >= 60 ? `${Math.floor(m / 60)}h ${m % 60}m` : `${m}m`;
}

/** An age in seconds, short: "12s", "3m", "2h", "4d". */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86_400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** A clock time in the viewer's zone, e.g. 14:05 (or 14:05:09 with seconds). */
export function formatClock(epochMs: number, seconds = false): string {
  return new Date(epochMs).toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    ...(seconds ? { second: '2-digit' } : {}),
    hour12: false,
  });
}

/** A stable colour for a session id (the timeline colours rows by session). */
export function sessionHue(sessionId: string): number {
  // FNV-1a, then the golden angle: ids that differ in one character get far-apart hues.
  let h = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) h = Math.imul(h ^ sessionId.charCodeAt(i), 0x01000193);
  return Math.round(((h >>> 0) * 137.508) % 360);
}

/** `claude-sonnet-4-5-20250929` → `sonnet-4-5`: what a narrow column can show whole. */
export function shortModel(model: string): string {
  return model.replace(/^claude-/, '').replace(/-\d{8}$/, '');
}
