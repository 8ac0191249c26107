import os
import random
import shutil
import tempfile
import unittest
from datetime import date, datetime, timedelta, timezone

from usagebridge.config_store import zone_for
from usagebridge.pricing import PriceTable
from usagebridge.reports import build_report
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
            self.store.aggregates, self.store.models, self.store.projects, kind, zone_for(zone), **options
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


if __name__ == "__main__":
    unittest.main()
