"""Daily, weekly, monthly and session usage reports (docs/bridge.md, "The rules of the numbers"), kept
incrementally.

Every counted entry is added to a quarter-hour x model x session sum as it arrives, and taken out
again when a better line of its request replaces it; a report is a merge of those sums, never a
re-scan. Quarter hours make every IANA zone exact: all of today's UTC offsets (+05:45, -03:30
included) and DST changes fall on quarter-hour boundaries, so each bucket lies within one local
day whatever the report's timezone. A session lies in one project, so project sums are session
sums added up.

Rules follow ccusage 20.0.24 (read from its source, checked against its binary): rows grouped by
the entry's local date in the timezone; weeks start on `start_of_week` (Sunday by default)
counted from the calendar date; months are the date's first seven characters; `models` and
`model_breakdowns` leave out `<synthetic>` (its tokens still count in the row), the costliest
model first (`models` is sorted; ccusage lists them in the order first seen). A session is Claude
Code's session (its sub-agents' files count in it), with its first and last activity; since and
until keep the entries of those days, then the sessions are formed from them.
"""

from collections import OrderedDict
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Tuple

from .agents import OTHER_AGENTS
from .timeparse import iso_ms

if TYPE_CHECKING:
    from .agents.store import AgentStore, AgentSums
    from .store import LogStore

QUARTER_MS = 15 * 60 * 1000
SYNTHETIC = "<synthetic>"
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
KINDS = ("daily", "weekly", "monthly", "sessions")

# input, output, cache creation, cache read, cost, entries
_Sums = List[float]
_ENTRIES = 5


def _add_sums(table: Dict, key, values, sign: int = 1) -> None:
    """Adds (or with sign -1 takes out) one set of sums; a group left with no entries is gone."""
    sums = table.get(key)
    if sums is None:
        table[key] = [v * sign for v in values] if sign != 1 else list(values)
        return
    for i in range(6):
        sums[i] += values[i] * sign
    if sums[_ENTRIES] == 0:
        del table[key]


class _Layer:
    """Sums of one set of entries: per quarter hour x model x session, and per session x model."""

    def __init__(self) -> None:
        self.buckets: Dict[Tuple[int, int, int], _Sums] = {}
        self.sessions: Dict[Tuple[int, int], _Sums] = {}

    def add(self, ts: int, values, model: int, session: int, sign: int = 1) -> None:
        _add_sums(self.buckets, (ts // QUARTER_MS, model, session), values, sign)
        _add_sums(self.sessions, (session, model), values, sign)


class _Rollup:
    """Day x model sums for one time zone and reset hour — every project's counted entries, and
    per project its own (its copies of other projects' requests included) — built once from the
    quarter hours, then kept up to date entry by entry: a report reads a few hundred sums however
    many lines there are."""

    def __init__(self, tz: tzinfo, reset_hour: int) -> None:
        self.tz = tz
        self.reset_hour = reset_hour
        self.day_of_quarter: Dict[int, date] = {}
        self.all: Dict[Tuple[date, int], _Sums] = {}
        self.projects: Dict[int, Dict[Tuple[date, int], _Sums]] = {}

    def day(self, quarter: int) -> date:
        found = self.day_of_quarter.get(quarter)
        if found is None:
            found = self.day_of_quarter[quarter] = _day_of(quarter * QUARTER_MS, self.tz, self.reset_hour)
        return found

    def add(self, quarter: int, model: int, project: int, values, cross: bool, sign: int = 1) -> None:
        day = self.day(quarter)
        if not cross:
            _add_sums(self.all, (day, model), values, sign)
        table = self.projects.get(project)
        if table is None:
            table = self.projects[project] = {}
        _add_sums(table, (day, model), values, sign)


class UsageAggregates:
    """The report sums of the counted entries (`main`), and of the best line of a request in each
    other project that has one (`cross`): those count only in a report filtered to their own
    project, as in ccusage, which filters files by project before it de-duplicates. Day roll-ups
    are kept for the zones reports were asked in (the most recent MAX_ROLLUPS)."""

    MAX_ROLLUPS = 8

    def __init__(self, project_of_session: List[int]) -> None:
        # Session index -> project index (the store's table, shared and growing).
        self.project_of_session = project_of_session
        self.main = _Layer()
        self.cross = _Layer()
        self.rollups: "OrderedDict[Tuple[str, int], _Rollup]" = OrderedDict()

    def add(self, ts: int, values, model: int, session: int, sign: int = 1, cross: bool = False) -> None:
        """One entry (values: input, output, cache creation, cache read, cost, 1), or with sign -1
        one taken out."""
        (self.cross if cross else self.main).add(ts, values, model, session, sign)
        if self.rollups:
            self.add_to_rollups(ts, values, model, session, sign, cross)

    def add_to_rollups(self, ts: int, values, model: int, session: int, sign: int = 1, cross: bool = False) -> None:
        """The day roll-ups' share of one entry (the layers' is the caller's)."""
        project = self.project_of_session[session]
        for rollup in self.rollups.values():
            rollup.add(ts // QUARTER_MS, model, project, values, cross, sign)

    def rollup(self, tz: tzinfo, reset_hour: int) -> _Rollup:
        key = (getattr(tz, "key", None) or str(tz), reset_hour)
        found = self.rollups.get(key)
        if found is not None:
            self.rollups.move_to_end(key)
            return found
        rollup = _Rollup(tz, reset_hour)
        projects = self.project_of_session
        for layer, cross in ((self.main, False), (self.cross, True)):
            for (quarter, model, session), sums in layer.buckets.items():
                rollup.add(quarter, model, projects[session], sums, cross)
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


def _row(key_name: str, key: str, per_model: Dict[str, _Sums], breakdown: bool, agents: Iterable[str] = ("claude",),
         per_agent: Optional[Dict[str, _Sums]] = None) -> dict:
    """A report row. Sums are Claude Code's six (input, output, cache creation, cache read, cost,
    entries) or another agent's eight (…, reasoning, total: see agents.store)."""
    inp = sum(s[0] for s in per_model.values())
    out = sum(s[1] for s in per_model.values())
    cc = sum(s[2] for s in per_model.values())
    cr = sum(s[3] for s in per_model.values())
    cost = sum(s[4] for s in per_model.values())
    reasoning = sum(s[6] for s in per_model.values() if len(s) > 6)
    total = sum(s[7] if len(s) > 7 else s[0] + s[1] + s[2] + s[3] for s in per_model.values())
    row = {
        key_name: key,
        "input_tokens": int(inp),
        "output_tokens": int(out),
        "cache_creation_tokens": int(cc),
        "cache_read_tokens": int(cr),
        "reasoning_output_tokens": int(reasoning),
        "total_tokens": int(total),
        "cost_usd": cost,
        "models": sorted(m for m in per_model if m != SYNTHETIC),
        "agents": sorted(agents),
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
        if per_agent is not None:
            row["agent_breakdowns"] = [
                {
                    "agent": agent,
                    "input_tokens": int(s[0]),
                    "output_tokens": int(s[1]),
                    "cache_creation_tokens": int(s[2]),
                    "cache_read_tokens": int(s[3]),
                    "reasoning_output_tokens": int(s[6]) if len(s) > 6 else 0,
                    "total_tokens": int(s[7] if len(s) > 7 else s[0] + s[1] + s[2] + s[3]),
                    "cost_usd": s[4],
                }
                for agent, s in sorted(per_agent.items(), key=lambda item: (-item[1][4], item[0]))
            ]
    return row


def _merge(table: Dict[str, _Sums], model: str, sums: _Sums) -> None:
    """Adds a model's sums to a row's (six or eight long; a mix of agents keeps eight)."""
    held = table.get(model)
    if held is None:
        table[model] = list(sums)
        return
    if len(held) < len(sums):
        held.extend((0, held[0] + held[1] + held[2] + held[3]))
    elif len(sums) < len(held):
        sums = list(sums) + [0, sums[0] + sums[1] + sums[2] + sums[3]]
    for i in range(len(held)):
        held[i] += sums[i]


def _period_key(kind: str, day: date, start_of_week: int) -> str:
    if kind == "daily":
        return day.isoformat()
    if kind == "weekly":
        return _week_start(day, start_of_week).isoformat()
    return day.isoformat()[:7]


def _agent_sums(agents: "Optional[AgentStore]", agent: str, project: Optional[str]) -> List["AgentSums"]:
    """The other agents' sums a report covers (none when filtered to a Claude Code project)."""
    if agents is None or project is not None:
        return []
    return [agents.sums[a] for a in OTHER_AGENTS if agent in ("all", a)]


def build_report(
    store: "LogStore",
    kind: str,
    tz: tzinfo,
    since: Optional[date] = None,
    until: Optional[date] = None,
    project: Optional[str] = None,
    order: str = "asc",
    start_of_week: int = 0,
    breakdown: bool = True,
    reset_hour: int = 0,
    agent: str = "all",
    agents: "Optional[AgentStore]" = None,
) -> dict:
    """One report over every counted entry of the agents asked for (`all`: Claude Code's and the
    others' together, as `ccusage daily`): rows, then totals over the rows."""
    if kind == "sessions":
        raise ValueError("sessions: use build_sessions_report")
    key_name = {"daily": "date", "weekly": "week", "monthly": "month"}[kind]
    groups: Dict[str, Dict[str, _Sums]] = {}
    agents_of: Dict[str, set] = {}
    # Per row and agent (the rows' agent_breakdowns).
    by_agent: Dict[str, Dict[str, _Sums]] = {}

    def within(day: date) -> bool:
        return (since is None or day >= since) and (until is None or day <= until)

    if agent in ("all", "claude"):
        project_index = _project_index(store.projects, project)
        models = store.models
        rollup = store.aggregates.rollup(tz, reset_hour)
        table = rollup.all if project_index is None else rollup.projects.get(project_index, {})
        for (day, model), sums in table.items():
            if within(day):
                key = _period_key(kind, day, start_of_week)
                _merge(groups.setdefault(key, {}), models[model], sums)
                _merge(by_agent.setdefault(key, {}), "claude", sums)
                agents_of.setdefault(key, set()).add("claude")
    days: Dict[int, date] = {}
    for sums_of in _agent_sums(agents, agent, project):
        for (quarter, model, _session), sums in sums_of.buckets.items():
            day = days.get(quarter)
            if day is None:
                day = days[quarter] = _day_of(quarter * QUARTER_MS, tz, reset_hour)
            if within(day):
                key = _period_key(kind, day, start_of_week)
                _merge(groups.setdefault(key, {}), sums_of.models[model], sums)
                _merge(by_agent.setdefault(key, {}), sums_of.agent, sums)
                agents_of.setdefault(key, set()).add(sums_of.agent)
    rows = [_row(key_name, key, per_model, breakdown, agents_of[key], by_agent[key]) for key, per_model in groups.items()]
    rows.sort(key=lambda r: r[key_name], reverse=order == "desc")
    return {kind: rows, "totals": _totals(rows), "unpriced_models": _unpriced(rows, agents, agent, project)}


def _unpriced(rows: List[dict], agents: "Optional[AgentStore]", agent: str, project: Optional[str]) -> List[str]:
    """The models in these rows that have no price (they cost 0), as ccusage's `unpricedModels`."""
    shown = {m for row in rows for m in row["models"]}
    return sorted({m for sums in _agent_sums(agents, agent, project) for m in sums.unpriced} & shown)


def _project_index(projects: List[str], project: Optional[str]) -> Optional[int]:
    """The index of a project filter; -1 (matches nothing) for a project never seen."""
    if project is None:
        return None
    return projects.index(project) if project in projects else -1


def build_sessions_report(
    store: "LogStore",
    tz: tzinfo,
    since: Optional[date] = None,
    until: Optional[date] = None,
    project: Optional[str] = None,
    order: str = "asc",
    breakdown: bool = True,
    reset_hour: int = 0,
    agent: str = "all",
    agents: "Optional[AgentStore]" = None,
) -> dict:
    """The per-session report, as `ccusage claude session` (20): a row per Claude Code session
    (project path, session id) with its first and last activity. since/until keep the entries of
    those local days first (a session's figures and times are then those of the kept entries).
    Rows by last activity, oldest first (`order=desc`: newest first). Other agents' sessions
    (agents.store) follow the same rules, each row saying its `agent`."""
    rows = []
    if agent in ("all", "claude"):
        rows = _claude_sessions(store, tz, since, until, project, breakdown, reset_hour)
    for sums_of in _agent_sums(agents, agent, project):
        rows.extend(_agent_sessions(sums_of, tz, since, until, breakdown, reset_hour))
    rows.sort(key=lambda item: (item[0], item[1]["project_path"], item[1]["session_id"]), reverse=order == "desc")
    ordered = [row for _, row in rows]
    return {"sessions": ordered, "totals": _totals(ordered), "unpriced_models": _unpriced(ordered, agents, agent, project)}


def _agent_sessions(sums_of: "AgentSums", tz: tzinfo, since: Optional[date], until: Optional[date],
                    breakdown: bool, reset_hour: int) -> List[Tuple[int, dict]]:
    days: Dict[int, date] = {}

    def day_of(ms: int) -> date:
        quarter = ms // QUARTER_MS
        found = days.get(quarter)
        if found is None:
            found = days[quarter] = _day_of(quarter * QUARTER_MS, tz, reset_hour)
        return found

    def within(ms: int) -> bool:
        day = day_of(ms)
        return (since is None or day >= since) and (until is None or day <= until)

    per_session: Dict[int, Dict[str, _Sums]] = {}
    for (quarter, model, session), sums in sums_of.session_buckets.items():
        if within(quarter * QUARTER_MS):
            _merge(per_session.setdefault(session, {}), sums_of.models[model], sums)
    rows = []
    for session, per_model in per_session.items():
        times = [ts for ts in sums_of.session_times[session] if within(ts)]
        project_path, session_id = sums_of.sessions[session]
        row = _row("session_id", session_id, per_model, breakdown, (sums_of.agent,))
        row["project_path"] = project_path
        row["agent"] = sums_of.agent
        row["first_activity"] = iso_ms(min(times))
        row["last_activity"] = iso_ms(max(times))
        rows.append((max(times), row))
    return rows


def _claude_sessions(store: "LogStore", tz: tzinfo, since: Optional[date], until: Optional[date],
                     project: Optional[str], breakdown: bool, reset_hour: int) -> List[Tuple[int, dict]]:
    project_index = _project_index(store.projects, project)
    aggregates = store.aggregates
    project_of = aggregates.project_of_session
    models = store.models
    per_session: Dict[int, Dict[str, _Sums]] = {}
    # Per session: (first, last) of the counted entries kept, or None to work out from them.
    times: Dict[int, Optional[Tuple[int, int]]] = {}
    ranged = since is not None or until is not None
    rollup = aggregates.rollup(tz, reset_hour) if ranged else None

    def within(day: date) -> bool:
        return (since is None or day >= since) and (until is None or day <= until)

    if not ranged:
        for (session, model), sums in aggregates.main.sessions.items():
            if project_index is not None and project_of[session] != project_index:
                continue
            _add_sums(per_session.setdefault(session, {}), models[model], sums)
    else:
        for (quarter, model, session), sums in aggregates.main.buckets.items():
            if project_index is not None and project_of[session] != project_index:
                continue
            if within(rollup.day(quarter)):  # type: ignore[union-attr]
                _add_sums(per_session.setdefault(session, {}), models[model], sums)
    for session in per_session:
        first, last = store.session_span(session)
        whole = not ranged or (
            within(_day_of(first, tz, reset_hour)) and within(_day_of(last, tz, reset_hour))
        )
        times[session] = (first, last) if whole else None
    # The slow path: sessions cut by the date range, from their entries' times.
    for session, span in list(times.items()):
        if span is None:
            kept = [ts for ts in store.session_times(session) if within(_day_of(ts, tz, reset_hour))]
            times[session] = (min(kept), max(kept))
    if project_index is not None:
        # Copies of other projects' requests, counted for this project.
        for ts, values, model, session in store.cross_entries(project_index):
            if ranged and not within(_day_of(ts, tz, reset_hour)):
                continue
            _add_sums(per_session.setdefault(session, {}), models[model], values)
            span = times.get(session)
            times[session] = (ts, ts) if span is None else (min(span[0], ts), max(span[1], ts))
    rows = []
    for session, per_model in per_session.items():
        project_path, session_id = store.sessions[session]
        first, last = times[session]  # type: ignore[misc]
        row = _row("session_id", session_id, per_model, breakdown)
        row["project_path"] = project_path
        row["agent"] = "claude"
        row["first_activity"] = iso_ms(first)
        row["last_activity"] = iso_ms(last)
        rows.append((last, row))
    return rows


def _totals(rows: Iterable[dict]) -> dict:
    rows = list(rows)
    return {
        name: sum(r[name] for r in rows)
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_creation_tokens",
            "cache_read_tokens",
            "reasoning_output_tokens",
            "total_tokens",
            "cost_usd",
        )
    }
