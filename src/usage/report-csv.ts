import { REPORT_KINDS, type ReportRowDto, type UsageReportDto } from './dto/usage-report.dto';

const KEYS: Record<string, readonly string[]> = {
  daily: ['date'],
  weekly: ['week'],
  monthly: ['month'],
  sessions: ['session_id', 'project_path', 'last_activity'],
};
const COUNTS = [
  'input_tokens',
  'output_tokens',
  'cache_creation_tokens',
  'cache_read_tokens',
  'total_tokens',
  'cost_usd',
] as const;

/** A field as RFC 4180 wants it: quoted (quotes doubled) when it holds a comma, quote or line break. */
function field(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * A report as CSV (RFC 4180): a header row, then one line per report row, CRLF line ends; the
 * models joined by spaces; breakdowns and totals left out (a spreadsheet sums the columns).
 */
export function reportToCsv(report: UsageReportDto): string {
  const kind = REPORT_KINDS.find((k) => k in report) ?? 'daily';
  const rows = (report as unknown as Record<string, (ReportRowDto & Record<string, unknown>)[]>)[
    kind
  ];
  const columns = [...KEYS[kind], ...COUNTS, 'models'];
  const lines = [columns.join(',')];
  for (const row of rows)
    lines.push(columns.map((c) => field(c === 'models' ? row.models.join(' ') : row[c])).join(','));
  return lines.map((line) => `${line}\r\n`).join('');
}
