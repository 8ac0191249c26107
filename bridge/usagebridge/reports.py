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
from typing import Dict, List, Optional, Tuple

QUARTER_MS = 15 * 60 * 1000
SYNTHETIC = "<synthetic>"
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
KINDS = ("daily", "weekly", "monthly")

# inp, out, cache creation, cache read, cost
_Sums = List[float]


class UsageAggregates:
    """Quarter-hour x model x project sums of the accepted entries."""

    def __init__(self) -> None:
        self.buckets: Dict[Tuple[int, int, int], _Sums] = {}

    def clear(self) -> None:
        self.buckets.clear()

    def add(self, ts: int, inp: int, out: int, cc: int, cr: int, cost: float, model: int, project: int) -> None:
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
) -> dict:
    """One report over every stored entry: rows, then totals over the rows."""
    key_name = {"daily": "date", "weekly": "week", "monthly": "month"}[kind]
    project_index = projects.index(project) if project is not None and project in projects else None
    local_day: Dict[int, date] = {}
    groups: Dict[str, Dict[str, _Sums]] = {}
    for (quarter, model, proj), sums in aggregates.buckets.items():
        if project is not None and proj != project_index:
            continue
        day = local_day.get(quarter)
        if day is None:
            day = local_day[quarter] = datetime.fromtimestamp(quarter * QUARTER_MS / 1000, tz).date()
        if (since is not None and day < since) or (until is not None and day > until):
            continue
        if kind == "daily":
            key = day.isoformat()
        elif kind == "weekly":
            key = _week_start(day, start_of_week).isoformat()
        else:
            key = day.isoformat()[:7]
        per_model = groups.setdefault(key, {})
        target = per_model.get(models[model])
        if target is None:
            per_model[models[model]] = list(sums)
        else:
            for i in range(5):
                target[i] += sums[i]
    rows = [_row(key_name, key, per_model, breakdown) for key, per_model in groups.items()]
    rows.sort(key=lambda r: r[key_name], reverse=order == "desc")
    totals = {
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
    return {kind: rows, "totals": totals}
