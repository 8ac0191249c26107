"""Daily, weekly and monthly usage reports (DESIGN.md §6), kept incrementally.

Every accepted entry is added to a quarter-hour x model x project sum as it arrives; a report is a
merge of those sums, never a re-scan. Quarter hours make every IANA zone exact: all of today's UTC
offsets (+05:45, -03:30 included) and DST changes fall on quarter-hour boundaries, so each bucket
lies within one local day whatever the report's timezone.

Rules follow ccusage 18.0.11 / 20.0.24 (read from its source): rows grouped by the entry's local
date in the timezone; weeks start on `start_of_week` (Sunday by default) counted from the calendar
date; months are the date's first seven characters; `models` and `model_breakdowns` leave out
`<synthetic>` (its tokens still count in the row), the costliest model first. (`models` is sorted,
as the issue asks; ccusage lists them in the order first seen.)
"""

from datetime import date, datetime, timedelta, tzinfo
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

QUARTER_MS = 15 * 60 * 1000
SYNTHETIC = "<synthetic>"
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
KINDS = ("daily", "weekly", "monthly", "sessions")

# inp, out, cache creation, cache read, cost
_Sums = List[float]


class _Layer:
    """Sums of one set of entries: per quarter hour x model x project, per session x model, and
    each session's latest entry time."""

    def __init__(self) -> None:
        self.buckets: Dict[Tuple[int, int, int], _Sums] = {}
        self.sessions: Dict[Tuple[int, int], _Sums] = {}
        self.session_last: Dict[int, int] = {}

    def add(self, ts: int, inp: int, out: int, cc: int, cr: int, cost: float, model: int, project: int, session: int) -> None:
        self.add_bucket(ts, inp, out, cc, cr, cost, model, project)
        self.add_session(session, {model: [inp, out, cc, cr, cost]}, ts)

    def add_bucket(self, ts: int, inp: int, out: int, cc: int, cr: int, cost: float, model: int, project: int) -> None:
        # Written out (no helper, no loop): this runs once per entry of a cold scan.
        key = (ts // QUARTER_MS, model, project)
        sums = self.buckets.get(key)
        if sums is None:
            self.buckets[key] = [inp, out, cc, cr, cost]
        else:
            sums[0] += inp
            sums[1] += out
            sums[2] += cc
            sums[3] += cr
            sums[4] += cost

    def add_session(self, session: int, per_model: Dict[int, _Sums], last_ts: int) -> None:
        """A read's sums for its session (one file is one session), per model."""
        for model, values in per_model.items():
            _add_sums(self.sessions, (session, model), values)
        last = self.session_last.get(session)
        if last is None or last_ts > last:
            self.session_last[session] = last_ts


def _add_sums(table: Dict, key, values) -> None:
    sums = table.get(key)
    if sums is None:
        table[key] = list(values)
    else:
        for i in range(5):
            sums[i] += values[i]


class _Rollup:
    """Day x model sums for one time zone and reset hour — every project's accepted entries, and
    per project its own (cross copies included) — built once from the quarter hours, then kept up
    to date entry by entry: a report reads a few hundred sums however many lines there are."""

    def __init__(self, tz: tzinfo, reset_hour: int) -> None:
        self.tz = tz
        self.reset_hour = reset_hour
        self.day_of_quarter: Dict[int, date] = {}
        self.all: Dict[Tuple[date, int], _Sums] = {}
        self.projects: Dict[int, Dict[Tuple[date, int], _Sums]] = {}

    def add(self, quarter: int, model: int, project: int, values, cross: bool) -> None:
        day = self.day_of_quarter.get(quarter)
        if day is None:
            day = self.day_of_quarter[quarter] = _day_of(quarter * QUARTER_MS, self.tz, self.reset_hour)
        if not cross:
            _add_sums(self.all, (day, model), values)
        table = self.projects.get(project)
        if table is None:
            table = self.projects[project] = {}
        _add_sums(table, (day, model), values)


class UsageAggregates:
    """The report sums of the accepted entries (`main`), and of the lines that repeat another
    project's entry (`cross`): those count only in a report filtered to their own project, as in
    ccusage, which filters files by project before it de-duplicates. Day roll-ups are kept for the
    zones reports were asked in (the most recent MAX_ROLLUPS)."""

    MAX_ROLLUPS = 8

    def __init__(self) -> None:
        self.main = _Layer()
        self.cross = _Layer()
        self.rollups: "OrderedDict[Tuple[str, int], _Rollup]" = OrderedDict()

    @property
    def buckets(self) -> Dict[Tuple[int, int, int], _Sums]:
        return self.main.buckets

    def add(self, ts: int, inp: int, out: int, cc: int, cr: int, cost: float, model: int, project: int) -> None:
        """One accepted entry (its session's share comes with add_session, once per read)."""
        self.main.add_bucket(ts, inp, out, cc, cr, cost, model, project)
        if self.rollups:
            for rollup in self.rollups.values():
                rollup.add(ts // QUARTER_MS, model, project, (inp, out, cc, cr, cost), False)

    def add_session(self, session: int, per_model: Dict[int, _Sums], last_ts: int) -> None:
        self.main.add_session(session, per_model, last_ts)

    def add_cross(self, ts: int, inp: int, out: int, cc: int, cr: int, cost: float, model: int, project: int, session: int = 0) -> None:
        self.cross.add(ts, inp, out, cc, cr, cost, model, project, session)
        for rollup in self.rollups.values():
            rollup.add(ts // QUARTER_MS, model, project, (inp, out, cc, cr, cost), True)

    def layers(self, project: Optional[int]) -> List[_Layer]:
        return [self.main] if project is None else [self.main, self.cross]

    def rollup(self, tz: tzinfo, reset_hour: int) -> _Rollup:
        key = (getattr(tz, "key", None) or str(tz), reset_hour)
        found = self.rollups.get(key)
        if found is not None:
            self.rollups.move_to_end(key)
            return found
        rollup = _Rollup(tz, reset_hour)
        for layer, cross in ((self.main, False), (self.cross, True)):
            for (quarter, model, project), sums in layer.buckets.items():
                rollup.add(quarter, model, project, sums, cross)
        self.rollups[key] = rollup
        while len(self.rollups) > self.MAX_ROLLUPS:
            self.rollups.popitem(last=False)
        return rollup


def _day_of(ms: int, tz: tzinfo, reset_hour: int) -> date:
    """The day a moment counts for: its local date, where a day starts at `reset_hour` o'clock
    (0, midnight, is ccusage's day). Whole hours keep quarter-hour buckets exact."""
    local = datetime.fromtimestamp(ms / 1000, tz)
    return (local - timedelta(hours=reset_hour)).date() if reset_hour else local.date()


def _week_start(day: date, start_of_week: int) -> date:
    # date.weekday(): Monday 0 … Sunday 6; ccusage's getDay(): Sunday 0 … Saturday 6.
    js_day = (day.weekday() + 1) % 7
    return day - timedelta(days=(js_day - start_of_week) % 7)


def _row(key_name: str, key: str, per_model: Dict[str, _Sums], breakdown: bool) -> dict:
    inp = sum(s[0] for s in per_model.values())
    out = sum(s[1] for s in per_model.values())
    cc = sum(s[2] for s in per_model.values())
    cr = sum(s[3] for s in per_model.values())
    cost = sum(s[4] for s in per_model.values())
    row = {
        key_name: key,
        "input_tokens": int(inp),
        "output_tokens": int(out),
        "cache_creation_tokens": int(cc),
        "cache_read_tokens": int(cr),
        "total_tokens": int(inp + out + cc + cr),
        "cost_usd": cost,
        "models": sorted(m for m in per_model if m != SYNTHETIC),
    }
    if breakdown:
        row["model_breakdowns"] = [
            {
                "model": model,
                "input_tokens": int(s[0]),
                "output_tokens": int(s[1]),
                "cache_creation_tokens": int(s[2]),
                "cache_read_tokens": int(s[3]),
                "cost_usd": s[4],
            }
            for model, s in sorted(per_model.items(), key=lambda item: -item[1][4])
            if model != SYNTHETIC
        ]
    return row


def build_report(
    aggregates: UsageAggregates,
    models: List[str],
    projects: List[str],
    kind: str,
    tz: tzinfo,
    since: Optional[date] = None,
    until: Optional[date] = None,
    project: Optional[str] = None,
    order: str = "asc",
    start_of_week: int = 0,
    breakdown: bool = True,
    reset_hour: int = 0,
) -> dict:
    """One report over every stored entry: rows, then totals over the rows."""
    if kind == "sessions":
        raise ValueError("sessions: use build_sessions_report")
    key_name = {"daily": "date", "weekly": "week", "monthly": "month"}[kind]
    project_index = _project_index(projects, project)
    groups: Dict[str, Dict[str, _Sums]] = {}
    rollup = aggregates.rollup(tz, reset_hour)
    table = rollup.all if project_index is None else rollup.projects.get(project_index, {})
    for (day, model), sums in table.items():
        if (since is not None and day < since) or (until is not None and day > until):
            continue
        if kind == "daily":
            key = day.isoformat()
        elif kind == "weekly":
            key = _week_start(day, start_of_week).isoformat()
        else:
            key = day.isoformat()[:7]
        _add_sums(groups.setdefault(key, {}), models[model], sums)
    rows = [_row(key_name, key, per_model, breakdown) for key, per_model in groups.items()]
    rows.sort(key=lambda r: r[key_name], reverse=order == "desc")
    return {kind: rows, "totals": _totals(rows)}


def _project_index(projects: List[str], project: Optional[str]) -> Optional[int]:
    """The index of a project filter; -1 (matches nothing) for a project never seen."""
    if project is None:
        return None
    return projects.index(project) if project in projects else -1


def build_sessions_report(
    aggregates: UsageAggregates,
    models: List[str],
    projects: List[str],
    sessions: List[Tuple[str, str, int]],
    tz: tzinfo,
    since: Optional[date] = None,
    until: Optional[date] = None,
    project: Optional[str] = None,
    order: str = "asc",
    breakdown: bool = True,
    reset_hour: int = 0,
) -> dict:
    """The per-session report: a row per (project path, session id) as `ccusage session` groups
    them, its last activity the local date of its latest entry; since/until filter that date."""
    project_index = _project_index(projects, project)
    per_session: Dict[int, Dict[str, _Sums]] = {}
    last: Dict[int, int] = {}
    for layer in aggregates.layers(project_index):
        for (session, model), sums in layer.sessions.items():
            if project_index is not None and sessions[session][2] != project_index:
                continue
            _add_sums(per_session.setdefault(session, {}), models[model], sums)
            ts = layer.session_last[session]
            if ts > last.get(session, -(2**62)):
                last[session] = ts
    rows = []
    for session, per_model in per_session.items():
        day = _day_of(last[session], tz, reset_hour)
        if (since is not None and day < since) or (until is not None and day > until):
            continue
        project_path, session_id, _ = sessions[session]
        row = _row("session_id", session_id, per_model, breakdown)
        row["project_path"] = project_path
        row["last_activity"] = day.isoformat()
        rows.append((last[session], row))
    rows.sort(key=lambda item: (item[0], item[1]["project_path"], item[1]["session_id"]), reverse=order == "desc")
    ordered = [row for _, row in rows]
    return {"sessions": ordered, "totals": _totals(ordered)}


def _totals(rows: List[dict]) -> dict:
    return {
        name: sum(r[name] for r in rows)
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_creation_tokens",
            "cache_read_tokens",
            "total_tokens",
            "cost_usd",
        )
    }
