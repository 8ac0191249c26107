import { REPORT_KINDS, type ReportRowDto, type UsageReportDto } from './dto/usage-report.dto';

const KEYS: Record<string, readonly string[]> = {
  daily: ['date'],
  weekly: ['week'],
  monthly: ['month'],
  sessions: ['session_id', 'project_path', 'first_activity', 'last_activity'],
};
/** A report row's token counts and cost, in the order reports and their totals carry them. */
export const REPORT_COUNTS = [
  'input_tokens',
  'output_tokens',
  'cache_creation_tokens',
  'cache_read_tokens',
  'total_tokens',
  'cost_usd',
] as const;

/**
 * A cost as a spreadsheet should see it: rounded to a millionth of a dollar (`71.942504`, not the
 * float sum `71.94250439999999`). JSON keeps the exact sum.
 */
const money = (value: number) => Math.round(value * 1e6) / 1e6;

function cell(row: ReportRowDto & Record<string, unknown>, column: string): unknown {
  if (column === 'models') return row.models.join(' ');
  if (column === 'agents') return (row.agents ?? []).join(' ');
  if (column === 'cost_usd') return money(row.cost_usd);
  return row[column];
}

/** A text cell a spreadsheet would run as a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A field as RFC 4180 wants it: quoted (quotes doubled) when it holds a comma, quote or line
 * break. A text cell starting with = + - @ TAB or CR is neutralised as OWASP advises: a leading
 * `'` makes spreadsheets show it as text (a project folder such as `-home-alice-proj` would
 * otherwise be read as a formula). Numbers are written as they are. JSON answers are unchanged.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
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
  // A team report grouped by member (machine, model, project) has that column after its key.
  const group = (report as { group_by?: unknown }).group_by;
  // A report of the bridge (every agent) says each row's agents, and each session's agent.
  const agents = 'agent' in report;
  const columns = [
    ...KEYS[kind],
    ...(agents && kind === 'sessions' ? ['agent'] : []),
    ...(typeof group === 'string' ? [group] : []),
    ...REPORT_COUNTS,
    ...(agents ? ['reasoning_output_tokens'] : []),
    'models',
    ...(agents ? ['agents'] : []),
  ];
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(cell(row, c))).join(','));
  return lines.map((line) => `${line}\r\n`).join('');
}
