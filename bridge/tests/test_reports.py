import os
import random
import shutil
import tempfile
import unittest
from datetime import date, datetime, timedelta, timezone

from usagebridge.config_store import zone_for
from usagebridge.pricing import PriceTable
from usagebridge.reports import build_report, build_sessions_report
from usagebridge.service import UsageService
from usagebridge.store import LogStore

from .fixtures import assistant_line

PRICES = PriceTable.from_file(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pricing.json")
)
MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "<synthetic>"]


class ReportsTest(unittest.TestCase):
    """Reports from the incremental sums equal a direct grouping of the entries, in any zone."""

    def setUp(self) -> None:
        self.root = tempfile.mkdtemp(prefix="ug-reports-")
        self.addCleanup(shutil.rmtree, self.root, True)
        rng = random.Random(7)
        self.entries = []  # (when, project, model, inp, out, cc, cr)
        # Entries around midnights and across the 2026 DST changes (Europe: 29 Mar, 25 Oct;
        # St. John's: 8 Mar, 1 Nov), every 37 minutes for ~40 days, in two projects.
        start = datetime(2026, 3, 1, 22, 50, tzinfo=timezone.utc)
        for project in ("shop", "bank"):
            lines = []
            for i in range(1600):
                when = start + timedelta(minutes=37 * i + (0 if project == "shop" else 11))
                model = MODELS[rng.randrange(3)] if i % 50 else "<synthetic>"
                inp, out = rng.randrange(1, 900), rng.randrange(1, 4000)
                cc, cr = rng.randrange(0, 2000), rng.randrange(0, 9000)
                lines.append(
                    assistant_line(
                        when, inp, out, cc, cr, model=model,
                        message_id=f"m-{project}-{i}", request_id=f"r-{project}-{i}",
                    )
                )
                self.entries.append((when, project, model, inp, out, cc, cr))
            # A duplicate line (same ids) counts once.
            lines.append(lines[5])
            folder = os.path.join(self.root, "projects", project)
            os.makedirs(folder)
            with open(os.path.join(folder, "s.jsonl"), "w") as handle:
                handle.write("\n".join(lines) + "\n")
        self.store = LogStore([self.root], PRICES)
        self.store.refresh()

    def report(self, kind, zone, **options):
        return build_report(
            self.store, kind, zone_for(zone), **options
        )

    def expected(self, zone, key, project=None, since=None, until=None):
        tz = zone_for(zone)
        groups = {}
        for when, proj, model, inp, out, cc, cr in self.entries:
            if project is not None and proj != project:
                continue
            day = when.astimezone(tz).date()
            if (since and day < since) or (until and day > until):
                continue
            g = groups.setdefault(key(day), [0, 0, 0, 0, set()])
            g[0] += inp
            g[1] += out
            g[2] += cc
            g[3] += cr
            g[4].add(model)
        return groups

    def check(self, rows, key_name, groups):
        self.assertEqual([r[key_name] for r in rows], sorted(groups))
        for row in rows:
            inp, out, cc, cr, models = groups[row[key_name]]
            self.assertEqual(
                (row["input_tokens"], row["output_tokens"], row["cache_creation_tokens"], row["cache_read_tokens"]),
                (inp, out, cc, cr),
            )
            self.assertEqual(row["total_tokens"], inp + out + cc + cr)
            self.assertEqual(row["models"], sorted(m for m in models if m != "<synthetic>"))
            breakdown = row["model_breakdowns"]
            self.assertEqual(sorted(b["model"] for b in breakdown), sorted(m for m in models if m != "<synthetic>"))
            self.assertEqual([b["cost_usd"] for b in breakdown], sorted((b["cost_usd"] for b in breakdown), reverse=True))
            self.assertAlmostEqual(sum(b["cost_usd"] for b in breakdown), row["cost_usd"], places=9)  # synthetic costs 0

    def test_daily_in_zones_with_odd_offsets_and_dst(self):
        for zone in ("UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "Asia/Kathmandu"):
            with self.subTest(zone=zone):
                report = self.report("daily", zone)
                self.check(report["daily"], "date", self.expected(zone, lambda d: d.isoformat()))
                self.assertEqual(report["totals"]["input_tokens"], sum(e[3] for e in self.entries))

    def test_weekly_monthly_filters_and_order(self):
        monday = self.report("weekly", "Europe/Berlin", start_of_week=1)
        self.check(
            monday["weekly"],
            "week",
            self.expected("Europe/Berlin", lambda d: (d - timedelta(days=d.weekday())).isoformat()),
        )
        sunday = self.report("weekly", "UTC")
        self.check(
            sunday["weekly"],
            "week",
            self.expected("UTC", lambda d: (d - timedelta(days=(d.weekday() + 1) % 7)).isoformat()),
        )
        monthly = self.report("monthly", "America/St_Johns")
        self.check(monthly["monthly"], "month", self.expected("America/St_Johns", lambda d: d.isoformat()[:7]))

        since, until = date(2026, 3, 28), date(2026, 3, 30)
        window = self.report("daily", "Europe/Berlin", since=since, until=until, project="bank")
        self.check(
            window["daily"],
            "date",
            self.expected("Europe/Berlin", lambda d: d.isoformat(), project="bank", since=since, until=until),
        )
        newest_first = self.report("daily", "UTC", order="desc", breakdown=False)
        self.assertEqual(
            [r["date"] for r in newest_first["daily"]], sorted((r["date"] for r in newest_first["daily"]), reverse=True)
        )
        self.assertNotIn("model_breakdowns", newest_first["daily"][0])
        self.assertEqual(self.report("daily", "UTC", project="nowhere")["daily"], [])

    def test_kept_incrementally_as_lines_arrive(self):
        before = self.report("daily", "UTC")["totals"]["output_tokens"]
        when = datetime(2026, 4, 10, 23, 59, tzinfo=timezone.utc)
        with open(os.path.join(self.root, "projects", "shop", "s.jsonl"), "a") as handle:
            handle.write(assistant_line(when, 1, 777, message_id="m-new", request_id="r-new") + "\n")
        self.store.refresh()
        after = self.report("daily", "UTC")
        self.assertEqual(after["totals"]["output_tokens"], before + 777)
        day = next(r for r in after["daily"] if r["date"] == "2026-04-10")
        self.assertIn("claude-sonnet-4-5-20250929", day["models"])


class SessionsAndEdgesTest(unittest.TestCase):
    """The session report (ccusage's grouping), duplicates across projects, fast mode."""

    def setUp(self) -> None:
        self.root = tempfile.mkdtemp(prefix="ug-sessions-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def write(self, relative, lines):
        path = os.path.join(self.root, "projects", *relative.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as handle:
            handle.write("".join(line + "\n" for line in lines))

    def store(self):
        store = LogStore([self.root], PRICES)
        store.refresh()
        return store

    def sessions(self, store, zone="UTC", **options):
        return build_sessions_report(
            store, zone_for(zone), **options
        )

    def test_a_session_is_claude_codes_with_its_subagents_as_ccusage_20_does(self):
        t = datetime(2026, 5, 1, 22, 30, tzinfo=timezone.utc)
        self.write("shop/aaa.jsonl", [assistant_line(t, 10, 1, message_id="m1", request_id="r1")])
        self.write("shop/bbb.jsonl", [assistant_line(t + timedelta(hours=2), 20, 2, message_id="m2", request_id="r2")])
        self.write(
            "shop/aaa/subagents/agent-1.jsonl",
            [assistant_line(t + timedelta(days=1), 40, 4, message_id="m3", request_id="r3")],
        )
        self.write("bank/ccc.jsonl", [assistant_line(t - timedelta(days=3), 80, 8, message_id="m4", request_id="r4")])
        store = self.store()
        report = self.sessions(store)
        rows = {(r["project_path"], r["session_id"]): r for r in report["sessions"]}
        self.assertEqual(set(rows), {("shop", "aaa"), ("shop", "bbb"), ("bank", "ccc")})
        # The sub-agent's file counts in its parent session.
        self.assertEqual(rows[("shop", "aaa")]["input_tokens"], 50)
        self.assertEqual(rows[("shop", "aaa")]["first_activity"], "2026-05-01T22:30:00.000Z")
        self.assertEqual(rows[("shop", "aaa")]["last_activity"], "2026-05-02T22:30:00.000Z")
        self.assertEqual([r["session_id"] for r in report["sessions"]], ["ccc", "bbb", "aaa"])
        self.assertEqual(report["totals"]["input_tokens"], 150)
        # since/until keep the entries of those local days, then sessions are formed from them.
        kolkata = self.sessions(store, "Asia/Kolkata", since=date(2026, 5, 2), until=date(2026, 5, 2))
        cut = {r["session_id"]: r for r in kolkata["sessions"]}
        self.assertEqual(sorted(cut), ["aaa", "bbb"])
        self.assertEqual((cut["aaa"]["input_tokens"], cut["aaa"]["last_activity"]), (10, "2026-05-01T22:30:00.000Z"))
        self.assertEqual(
            [r["session_id"] for r in self.sessions(store, project="shop", order="desc")["sessions"]],
            ["aaa", "bbb"],
        )

    def test_claude_code_sessions_include_their_subagents(self):
        t = datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)
        self.write("shop/abc-1.jsonl", [assistant_line(t, 10, 1, message_id="m1", request_id="r1")])
        self.write("shop/abc-1/subagents/agent-a.jsonl", [assistant_line(t + timedelta(minutes=5), 20, 2, message_id="m2", request_id="r2")])
        self.write("shop/def-2.jsonl", [assistant_line(t, 40, 4, message_id="m3", request_id="r3"),
                                        assistant_line(t, 10, 1, message_id="m1", request_id="r1")])
        store = self.store()
        abc = store.claude_session("abc-1")
        self.assertEqual(abc[:4] + [abc[5]], [30, 3, 0, 0, 2])
        self.assertEqual(abc[6], int((t + timedelta(minutes=5)).timestamp() * 1000))
        # The repeated line is a tie: the first in path order (abc-1.jsonl) keeps it.
        self.assertEqual(store.claude_session("def-2")[0], 40)
        self.write("shop/def-2.jsonl", [assistant_line(t, 5, 1, message_id="m9", request_id="r9")])
        store.refresh()
        self.assertEqual(store.claude_session("def-2")[0], 45)
        self.assertIsNone(store.claude_session("nobody"))

    def test_a_replay_before_its_main_line_in_one_file_leaves_the_session_sums_exact(self):
        t = datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)
        self.write("shop/s1.jsonl", [
            assistant_line(t, 10, 1, message_id="m0", request_id="r0"),
            assistant_line(t + timedelta(minutes=1), 10, 900, message_id="m1", request_id="r-btw", sidechain=True),
            assistant_line(t + timedelta(minutes=2), 10, 7, message_id="m1", request_id="r1"),
        ])
        store = self.store()
        report = self.sessions(store)
        self.assertEqual([(r["session_id"], r["output_tokens"]) for r in report["sessions"]], [("s1", 8)])
        self.assertEqual(store.claude_session("s1")[5], 2)
        self.assertEqual(build_report(store, "daily", zone_for("UTC"))["totals"]["output_tokens"], 8)

    def test_a_larger_line_arriving_later_replaces_the_counted_one_everywhere(self):
        # A streamed message: a partial line at 23:59:59 counted first; its billed line arrives
        # later at 00:00:01 (appended, then in another file of another session, then scanned by
        # a worker process): its figures leave the first day, the block, the session, and enter
        # the second — no re-scan.
        from usagebridge import store as store_module

        t = datetime(2026, 5, 1, 23, 59, 59, tzinfo=timezone.utc)
        self.write("shop/s1.jsonl", [assistant_line(t, 10, 3, message_id="m1", request_id="r1")])
        service = UsageService([self.root], PRICES, clock=lambda: t.timestamp() + 60)
        service.refresh()

        def figures():
            daily = {r["date"]: r["output_tokens"] for r in service.report("daily", zone_for("UTC"))["daily"]}
            sessions = {r["session_id"]: (r["output_tokens"], r["last_activity"]) for r in service.report("sessions", zone_for("UTC"))["sessions"]}
            blocks = [(b.start, b.out, b.count) for b in service.timeline.blocks if not b.is_gap]
            return daily, sessions, blocks, len(service.store.entries)

        self.assertEqual(figures()[0], {"2026-05-01": 3})
        self.write("shop/s1.jsonl", [assistant_line(t + timedelta(seconds=2), 10, 700, message_id="m1", request_id="r1")])
        service.refresh()
        daily, sessions, blocks, count = figures()
        self.assertEqual(daily, {"2026-05-02": 700})
        self.assertEqual(sessions, {"s1": (700, "2026-05-02T00:00:01.000Z")})
        self.assertEqual(blocks, [(int(datetime(2026, 5, 2, tzinfo=timezone.utc).timestamp() * 1000), 700, 1)])
        self.assertEqual(count, 1)
        # Another session's file with a still larger line of the same request.
        self.write("shop/s2.jsonl", [assistant_line(t + timedelta(seconds=5), 10, 900, message_id="m1", request_id="r1")])
        service.refresh()
        daily, sessions, blocks, count = figures()
        self.assertEqual((daily, sessions, count), ({"2026-05-02": 900}, {"s2": (900, "2026-05-02T00:00:04.000Z")}, 1))
        # A cold scan in worker processes merges by the same rule (each file alone in a task).
        original = (store_module.PARALLEL_MIN_BYTES, store_module.TASK_BYTES, store_module.usable_cpus)
        store_module.PARALLEL_MIN_BYTES, store_module.TASK_BYTES = 0, 1
        store_module.usable_cpus = lambda *_: 2
        try:
            cold = LogStore([self.root], PRICES)
            cold.refresh()
        finally:
            store_module.PARALLEL_MIN_BYTES, store_module.TASK_BYTES, store_module.usable_cpus = original
        self.assertEqual(list(cold.entries.out), [900])
        self.assertEqual(build_report(cold, "daily", zone_for("UTC"))["daily"][0]["date"], "2026-05-02")

    def test_a_duplicate_in_another_project_counts_only_for_that_project(self):
        t = datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)
        line = assistant_line(t, 100, 10, message_id="m-shared", request_id="r-shared")
        self.write("shop/a.jsonl", [line, line])
        self.write("bank/b.jsonl", [assistant_line(t + timedelta(hours=1), 1, 1, message_id="m-b", request_id="r-b"), line, line])
        for appended in (False, True):
            with self.subTest(appended=appended):
                store = self.store()
                if appended:  # the copy arrives later, read by the incremental path
                    self.write("bank/b.jsonl", [line])
                    store.refresh()
                report = lambda **o: build_report(  # noqa: E731
                    store, "daily", zone_for("UTC"), **o
                )
                self.assertEqual(report()["totals"]["input_tokens"], 101)
                self.assertEqual(report(project="shop")["totals"]["input_tokens"], 100)
                self.assertEqual(report(project="bank")["totals"]["input_tokens"], 101)
                self.assertEqual(self.sessions(store, project="bank")["totals"]["input_tokens"], 101)
                self.assertEqual(self.sessions(store)["totals"]["input_tokens"], 101)

    def test_fast_mode_is_a_model_of_its_own_at_its_price(self):
        t = datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)
        model = "claude-opus-4-6"
        fast = assistant_line(t, 1000, 100, model=model, message_id="m1", request_id="r1")
        fast = fast.replace('"output_tokens":100', '"output_tokens":100,"speed":"fast"')
        standard = assistant_line(t, 1000, 100, model=model, message_id="m2", request_id="r2")
        odd = assistant_line(t, 5, 5, model=model, message_id="m3", request_id="r3")
        odd = odd.replace('"output_tokens":5', '"output_tokens":5,"speed":"turbo"')
        self.assertIn('"speed":"fast"', fast)
        self.write("p/s.jsonl", [fast, standard, odd])
        store = self.store()
        day = build_report(store, "daily", zone_for("UTC"))["daily"][0]
        self.assertEqual(day["models"], [model, f"{model}-fast"])
        costs = {b["model"]: b["cost_usd"] for b in day["model_breakdowns"]}
        self.assertAlmostEqual(costs[f"{model}-fast"], 6 * costs[model], places=12)
        self.assertEqual(day["input_tokens"], 2000)  # a speed ccusage does not know skips the line


if __name__ == "__main__":
    unittest.main()
