import json
import os
import random
import threading
import shutil
import tempfile
import unittest
from datetime import datetime, timedelta, timezone

from usagebridge.blocks import BLOCK_MS, Timeline
from usagebridge.config_store import zone_for
from usagebridge.pricing import PriceTable
from usagebridge.report import sessions_payload, stats_payload
from usagebridge import service as service_module
from usagebridge.service import UsageService
from usagebridge.store import LogStore, usable_cpus
from usagebridge.timeparse import iso_ms, parse_iso_ms

from .fixtures import assistant_line, at, limit_line, user_line, write

PRICING = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pricing.json")
PRICES = PriceTable.from_file(PRICING)
SONNET = PRICES.models["claude-sonnet-4-5-20250929"]


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


class TempTree(unittest.TestCase):
    def setUp(self) -> None:
        self.root = tempfile.mkdtemp(prefix="ub-test-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def service(self, now: datetime) -> UsageService:
        return UsageService([self.root], PRICES, clock=lambda: now.timestamp())

    def blocks(self, service: UsageService, now: datetime, **kw):
        service.refresh()
        v = service.view
        return sessions_payload(v.blocks, v.models, ms(now), hours_back=720, limit=1000, session_id=None, **kw)["sessions"]


class TimeParsing(unittest.TestCase):
    def test_iso_forms(self):
        self.assertEqual(iso_ms(parse_iso_ms("2026-11-20T09:14:07.902Z")), "2026-11-20T09:14:07.902Z")
        self.assertEqual(parse_iso_ms("2026-11-20T10:14:07.902+01:00"), parse_iso_ms("2026-11-20T09:14:07.902Z"))
        self.assertEqual(parse_iso_ms("2026-11-20T09:14:07.9029999Z"), parse_iso_ms("2026-11-20T09:14:07.902Z"))
        for bad in ("2026-02-30T00:00:00Z", "2026-11-20 09:14:07Z", "2026-11-20T09:14:07", "yesterday"):
            self.assertIsNone(parse_iso_ms(bad), bad)


class Pricing(unittest.TestCase):
    def test_exact_then_substring_then_unknown(self):
        self.assertIs(PRICES.lookup("claude-sonnet-4-5-20250929"), SONNET)
        self.assertIsNotNone(PRICES.lookup("anthropic.CLAUDE-SONNET-4-5-20250929-v2"))
        self.assertIsNone(PRICES.lookup("gpt-5"))
        self.assertEqual(PRICES.cost("gpt-5", 1000, 1000, 1000, 1000), 0.0)

    def test_tokens_above_200k_use_the_tier_rate(self):
        cost = PRICES.cost("claude-sonnet-4-5-20250929", 250_000, 10, 0, 300_000)
        expected = (
            200_000 * SONNET["input_cost_per_token"]
            + 50_000 * SONNET["input_cost_per_token_above_200k_tokens"]
            + 10 * SONNET["output_cost_per_token"]
            + 200_000 * SONNET["cache_read_input_token_cost"]
            + 100_000 * SONNET["cache_read_input_token_cost_above_200k_tokens"]
        )
        self.assertAlmostEqual(cost, expected, places=12)


class ScanWorkers(TempTree):
    def cgroup(self, files):
        root = tempfile.mkdtemp(dir=self.root, prefix="cgroup-")
        for name, text in files.items():
            path = os.path.join(root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write(text)
        return root

    def test_the_cpus_this_process_may_use_not_the_machines(self):
        mine = len(os.sched_getaffinity(0))
        self.assertEqual(usable_cpus(self.cgroup({})), mine)
        self.assertEqual(usable_cpus(self.cgroup({"cpu.max": "max 100000\n"})), mine)
        self.assertEqual(usable_cpus(self.cgroup({"cpu.max": "100000 100000\n"})), 1)
        self.assertEqual(usable_cpus(self.cgroup({"cpu.max": "50000 100000\n"})), 1)
        self.assertEqual(usable_cpus(self.cgroup({"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"})), 1)
        self.assertEqual(usable_cpus(self.cgroup({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"})), mine)


class Parsing(TempTree):
    def test_a_request_counts_once_by_its_best_line_whatever_the_reading_order(self):
        # ccusage 20: the main chain beats a side-chain replay; then the larger token total (a
        # streamed message's billed line beats its partial ones); a tie goes to the first line in
        # ccusage's order (files by path). Written in both file orders, the same line is kept.
        for first, second in (("a", "b"), ("b", "a")):
            with self.subTest(first=first):
                root = tempfile.mkdtemp(prefix="ug-best-")
                self.addCleanup(shutil.rmtree, root, True)
                write(root, f"p/{first}.jsonl", [
                    assistant_line(at(), out=3, message_id="m1", request_id="r1"),
                    assistant_line(at(seconds=1), out=5000, message_id="m1", request_id="r1", sidechain=True),
                    assistant_line(at(seconds=2), out=40, message_id="m2", request_id="r2"),
                ])
                write(root, f"p/{second}.jsonl", [
                    assistant_line(at(seconds=3), out=700, message_id="m1", request_id="r1"),
                    assistant_line(at(seconds=4), out=40, message_id="m2", request_id="r2"),
                ])
                store = LogStore([root], PRICES)
                store.refresh()
                self.assertEqual(len(store.entries), 2)
                self.assertEqual(store.duplicates, 3)
                by_out = sorted(zip(store.entries.out, store.entries.ts))
                # m1: the billed main-chain line (700 at 0:03); m2: the tie's line in a.jsonl.
                m2_seconds = 2 if first == "a" else 4
                self.assertEqual(by_out, [(40, ms(at(seconds=m2_seconds))), (700, ms(at(seconds=3)))])

    def test_a_message_without_request_id_is_keyed_by_its_message_id(self):
        write(self.root, "p/a.jsonl", [
            assistant_line(at(), out=5, message_id="m1", request_id=None),
            assistant_line(at(seconds=1), out=50, message_id="m1", request_id=None),
            assistant_line(at(seconds=2), out=7, message_id="m1", request_id=None),
            assistant_line(at(seconds=3), out=9, message_id="m1", request_id="r1"),
        ])
        store = LogStore([self.root], PRICES)
        store.refresh()
        # m1 alone (50, the largest) and m1 + r1 (another key: a main-chain line of its own).
        self.assertEqual(sorted(store.entries.out), [9, 50])

    def test_ccusage_20_skips_lines_its_schema_refuses(self):
        line = lambda **kw: assistant_line(at(), message_id=None, request_id=None, **kw)
        write(self.root, "p/a.jsonl", [
            line(version="2.0.30"),
            line(version="dev"),  # not x.y.z
            line(sessionId=""),
            line(cwd=None),  # a null where its schema takes none
            assistant_line(at(), inp=1.5, message_id=None, request_id=None),  # not a whole number
            assistant_line(at(), model="", message_id=None, request_id=None),
            line(isSidechain="yes"),
            line(),
        ])
        store = LogStore([self.root], PRICES)
        store.refresh()
        self.assertEqual(len(store.entries), 2)

    def test_one_hour_cache_writes_cost_twice_the_input_rate(self):
        split = {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 3000}
        line = json.loads(assistant_line(at(), inp=0, out=0, cache_create=999))
        line["message"]["usage"]["cache_creation"] = split
        write(self.root, "p/a.jsonl", [json.dumps(line)])
        store = LogStore([self.root], PRICES)
        store.refresh()
        prices = PRICES.lookup("claude-sonnet-4-5-20250929")
        self.assertEqual(store.entries.cache_create[0], 4000)  # the split is the count
        self.assertAlmostEqual(
            store.entries.cost[0],
            1000 * prices["cache_creation_input_token_cost"] + 3000 * 2 * prices["input_cost_per_token"],
            places=12,
        )

    def test_one_absurd_line_is_skipped_and_counted_never_the_whole_file(self):
        deep = '{"usage": ' + '{"a": ' * 100_000 + '1' + '}' * 100_000 + '}'
        huge = assistant_line(at(minutes=2), message_id="m9", request_id="r9").replace('"input_tokens":10', '"input_tokens":1e999')
        write(self.root, "p/a.jsonl", [
            assistant_line(at(), message_id="m1", request_id="r1"),
            deep,
            huge,
            assistant_line(at(minutes=5), message_id="m2", request_id="r2"),
        ])
        store = LogStore([self.root], PRICES)
        store.refresh()
        self.assertEqual(len(store.entries), 2)
        # The deep one is malformed; 1e999 is no whole number, a line ccusage's schema refuses.
        self.assertEqual(store.malformed_lines, 1)

    def test_lines_without_a_message_id_are_each_counted(self):
        write(self.root, "p/a.jsonl", [
            assistant_line(at(), message_id=None, request_id="r1"),
            assistant_line(at(), message_id=None, request_id="r1"),
        ])
        store = LogStore([self.root], PRICES)
        store.refresh()
        self.assertEqual(len(store.entries), 2)

    def test_synthetic_limit_lines_mark_activity_and_the_reset_time(self):
        now = at(hours=1)
        reset = int((now + timedelta(hours=2)).timestamp())
        write(self.root, "p/a.jsonl", [assistant_line(at()), limit_line(at(minutes=30), reset)])
        service = self.service(now)
        blocks = self.blocks(service, now)
        self.assertEqual(blocks[0]["entries"], 2)
        self.assertEqual(blocks[0]["models"], ["claude-sonnet-4-5-20250929"])
        v = service.view
        stats = stats_payload(v.blocks, v.models, ms(now), {"plan": "pro", "timezone": "UTC"}, zone_for("UTC"), v.limit_resets_at_ms)
        self.assertEqual(stats["predictions"]["limit_resets_at"], iso_ms(reset * 1000))

    def test_a_past_reset_time_is_ignored(self):
        now = at(hours=1)
        write(self.root, "p/a.jsonl", [assistant_line(at()), limit_line(at(minutes=30), int(at().timestamp()) - 60)])
        service = self.service(now)
        service.refresh()
        v = service.view
        stats = stats_payload(v.blocks, v.models, ms(now), {"plan": "pro", "timezone": "UTC"}, zone_for("UTC"), v.limit_resets_at_ms)
        self.assertEqual(stats["predictions"]["limit_resets_at"], "2026-11-20T14:00:00.000Z")  # the block's end

    def test_malformed_lines_are_counted_and_skipped(self):
        write(self.root, "p/a.jsonl", [
            assistant_line(at()),
            "not json at all",
            '{"message": {"usage": {"input_tokens": 1, "output_tokens": ',
            user_line(at()),
            assistant_line(at(), message_id="m2", inp="ten"),
            assistant_line(at(), message_id="m3", cache_read=True),
        ])
        store = LogStore([self.root], PRICES)
        store.refresh()
        self.assertEqual(len(store.entries), 1)
        self.assertEqual(store.malformed_lines, 2)

    def test_cost_uses_the_price_table_and_a_logged_cost_when_present(self):
        write(self.root, "p/a.jsonl", [
            assistant_line(at(), inp=1000, out=100, cache_create=10, cache_read=20, message_id="m1"),
            assistant_line(at(), message_id="m2", costUSD=1.25),
            assistant_line(at(), message_id="m3", model="gpt-unknown"),
        ])
        store = LogStore([self.root], PRICES)
        store.refresh()
        expected = 1000 * 3e-06 + 100 * 1.5e-05 + 10 * 3.75e-06 + 20 * 3e-07
        self.assertAlmostEqual(store.entries.cost[0], expected, places=12)
        self.assertEqual(store.entries.cost[1], 1.25)
        self.assertEqual(store.entries.cost[2], 0.0)


class Incremental(TempTree):
    def test_reads_only_appended_bytes_and_waits_for_a_cut_line(self):
        path = write(self.root, "p/a.jsonl", [assistant_line(at(), message_id="m1")])
        store = LogStore([self.root], PRICES)
        store.refresh()
        first_size = os.path.getsize(path)
        self.assertEqual(store.last_refresh_bytes, first_size)

        line = assistant_line(at(minutes=1), message_id="m2")
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line[:40])  # Claude Code is mid-write
        store.refresh()
        self.assertEqual(len(store.entries), 1)
        self.assertEqual(store.last_refresh_bytes, 40)

        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line[40:] + "\n")
        store.refresh()
        self.assertEqual(len(store.entries), 2)
        self.assertEqual(store.last_refresh_bytes, len(line) + 1)  # the cut part again, then the rest
        store.refresh()
        self.assertEqual(store.last_refresh_bytes, 0)
        self.assertEqual(len(store.entries), 2)

    def test_new_files_are_found(self):
        write(self.root, "p/a.jsonl", [assistant_line(at(), message_id="m1")])
        store = LogStore([self.root], PRICES)
        store.refresh()
        write(self.root, "q/deep/b.jsonl", [assistant_line(at(), message_id="m2")])
        report = store.refresh()
        self.assertEqual((report.files, len(store.entries)), (2, 2))

    def test_a_replaced_or_truncated_file_is_read_again(self):
        path = write(self.root, "p/a.jsonl", [assistant_line(at(), message_id=f"m{i}") for i in range(5)])
        store = LogStore([self.root], PRICES)
        store.refresh()
        self.assertEqual(len(store.entries), 5)
        # rotation: a new file under the same name (new inode)
        os.rename(path, path + ".old")
        write(self.root, "p/a.jsonl", [assistant_line(at(), message_id="x1")])
        report = store.refresh()
        self.assertTrue(report.rebuilt)
        self.assertEqual(len(store.entries), 1)
        # truncation in place
        with open(path, "w", encoding="utf-8"):
            pass
        store.refresh()
        self.assertEqual(len(store.entries), 0)

    def test_a_file_rewritten_in_place_with_other_content_is_read_again(self):
        path = write(self.root, "p/a.jsonl", [assistant_line(at(), out=100, message_id=f"m{i}") for i in range(3)])
        store = LogStore([self.root], PRICES)
        store.refresh()
        self.assertEqual(sum(store.entries.out), 300)
        # Same name, same inode, longer: other content, not an append (an editor's save, a sync) —
        # and, as on a file system with coarse timestamps, the same mtime as before.
        before = os.stat(path)
        with open(path, "r+", encoding="utf-8") as handle:
            handle.write("\n".join(assistant_line(at(), out=7, message_id=f"n{i}") for i in range(4)) + "\n")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        report = store.refresh()
        self.assertTrue(report.rebuilt)
        self.assertEqual((len(store.entries), sum(store.entries.out)), (4, 28))
        # A plain append is still read incrementally.
        write(self.root, "p/a.jsonl", [assistant_line(at(), out=5, message_id="n9")], mode="a")
        report = store.refresh()
        self.assertFalse(report.rebuilt)
        self.assertEqual(sum(store.entries.out), 33)


    def test_appends_to_a_file_shorter_than_its_fingerprint_are_appends(self):
        path = write(self.root, "p/a.jsonl", [user_line(at())])
        store = LogStore([self.root], PRICES)
        store.refresh()
        for i in range(3):
            write(self.root, "p/a.jsonl", [assistant_line(at(minutes=i), out=1, message_id=f"m{i}")], mode="a")
            self.assertFalse(store.refresh().rebuilt)
        self.assertEqual(len(store.entries), 3)
        self.assertGreater(os.path.getsize(path), 256)


class ParallelColdScan(TempTree):
    def test_worker_processes_give_exactly_the_in_process_result(self):
        from usagebridge import store as store_module

        rng = random.Random(3)
        for f in range(12):
            lines = []
            for i in range(60):
                message = f"m{rng.randint(0, 150)}"  # many repeats, within and across files
                lines.append(assistant_line(at(hours=f * 2, minutes=i), inp=rng.randint(0, 900),
                                            out=rng.randint(0, 900), message_id=message, request_id="r" + message))
            lines.append("garbage")
            write(self.root, f"p{f % 3}/s{f}.jsonl", lines)

        def scan(parallel_min_bytes):
            original = (store_module.PARALLEL_MIN_BYTES, store_module.TASK_BYTES)
            store_module.PARALLEL_MIN_BYTES, store_module.TASK_BYTES = parallel_min_bytes, 20_000
            try:
                store = LogStore([self.root], PRICES)
                store.refresh()
                return store
            finally:
                store_module.PARALLEL_MIN_BYTES, store_module.TASK_BYTES = original

        serial, parallel = scan(10**12), scan(0)
        columns = ("ts", "inp", "out", "cache_create", "cache_read", "cost", "model")
        for name in columns:
            self.assertEqual(list(getattr(parallel.entries, name)), list(getattr(serial.entries, name)), name)
        self.assertEqual((parallel.duplicates, parallel.malformed_lines), (serial.duplicates, serial.malformed_lines))
        self.assertEqual(parallel.models, serial.models)
        self.assertGreater(serial.duplicates, 100)
        self.assertEqual(serial.malformed_lines, 12)
        self.assertEqual({s.offset for s in parallel.files.values()}, {s.offset for s in serial.files.values()})


class Discovery(TempTree):
    def test_missing_directories_are_reported_not_fatal(self):
        write(self.root, "p/a.jsonl", [assistant_line(at())])
        missing = os.path.join(self.root, "nowhere")
        store = LogStore([missing, self.root], PRICES)
        report = store.refresh()
        self.assertEqual(report.files, 1)
        self.assertEqual(store.projects_dirs(), [(os.path.join(missing, "projects"), False),
                                                 (os.path.join(self.root, "projects"), True)])


class Blocks(TempTree):
    def test_blocks_floor_to_the_hour_and_split_after_five_hours(self):
        now = at(hours=100)
        write(self.root, "p/a.jsonl", [
            assistant_line(at(), message_id="m1"),                         # 09:14 -> block 09:00
            assistant_line(at(hours=4, minutes=45), message_id="m2"),      # 13:59 same block
            assistant_line(at(hours=5, minutes=46), message_id="m3"),      # 15:00:07 > 5 h after 09:00
        ])
        blocks = self.blocks(self.service(now), now)
        self.assertEqual([b["id"] for b in blocks], ["2026-11-20T09:00:00.000Z", "2026-11-20T15:00:00.000Z"])
        self.assertEqual([b["entries"] for b in blocks], [2, 1])
        self.assertEqual(blocks[0]["end_time"], "2026-11-20T14:00:00.000Z")
        self.assertEqual(blocks[0]["actual_end_time"], "2026-11-20T13:59:07.902Z")

    def test_a_gap_of_exactly_five_hours_is_not_a_gap(self):
        now = at(hours=100)
        start = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
        write(self.root, "p/a.jsonl", [
            assistant_line(start, message_id="m1"),
            assistant_line(start + timedelta(hours=5), message_id="m2"),  # exactly 5 h: same block
            assistant_line(start + timedelta(hours=10), message_id="m3"),  # 5 h after previous, 10 h after start
            assistant_line(start + timedelta(hours=15, milliseconds=1), message_id="m4"),  # > 5 h: gap
        ])
        blocks = self.blocks(self.service(now), now)
        self.assertEqual([(b["id"], b["entries"], b["is_gap"]) for b in blocks], [
            ("2026-11-20T10:00:00.000Z", 2, False),
            ("2026-11-20T20:00:00.000Z", 1, False),
            ("gap-2026-11-21T01:00:00.000Z", 0, True),
            ("2026-11-21T01:00:00.000Z", 1, False),
        ])
        self.assertEqual(blocks[2]["end_time"], "2026-11-21T01:00:00.001Z")

    def test_the_active_block(self):
        write(self.root, "p/a.jsonl", [assistant_line(at(), inp=1000, out=1000, message_id="m1"),
                                       assistant_line(at(minutes=10), inp=1000, out=1000, message_id="m2")])
        now = at(minutes=20)
        service = self.service(now)
        blocks = self.blocks(service, now)
        self.assertTrue(blocks[0]["is_active"])
        self.assertAlmostEqual(blocks[0]["burn_rate"]["tokens_per_minute"], 4000 / 10)
        later = at(hours=5)  # after the block's end (14:00)
        self.assertFalse(sessions_payload(service.view.blocks, service.view.models, ms(later), 720, 10, None)["sessions"][0]["is_active"])

    def test_incremental_blocks_equal_a_full_rebuild_whatever_the_arrival_order(self):
        rng = random.Random(7)
        times = [ms(at(minutes=rng.choice([0, 1, 30, 200, 299, 300, 301, 600, 1000]) + i * 17)) for i in range(400)]
        store = LogStore([self.root], PRICES)
        for i, t in enumerate(times):
            store.entries.append(t, i, 1, 0, 0, 0.5, 0)
        full = Timeline(store.entries)
        full.add(list(range(len(times))))
        incremental = Timeline(store.entries)
        indices = list(range(len(times)))
        rng.shuffle(indices)
        while indices:
            take = rng.randint(1, 25)
            incremental.add(indices[:take])
            indices = indices[take:]
        def shape(t):
            return [(b.start, b.end, b.is_gap, b.count, b.inp, b.first, b.last) for b in t.blocks]
        self.assertEqual(shape(incremental), shape(full))
        self.assertTrue(all(b.end - b.start == BLOCK_MS for b in full.blocks if not b.is_gap))


class Reports(TempTree):
    def test_plans_percentages_and_predictions(self):
        write(self.root, "p/a.jsonl", [assistant_line(at(), inp=4000, out=5500, message_id="m1"),
                                       assistant_line(at(minutes=30), inp=0, out=0, message_id="m2")])
        now = at(minutes=45)
        service = self.service(now)
        service.refresh()
        v = service.view
        stats = stats_payload(v.blocks, v.models, ms(now), {"plan": "pro", "timezone": "Europe/Berlin"}, zone_for("Europe/Berlin"), None)
        self.assertEqual(stats["totals"]["tokens"], 9500)
        self.assertEqual(stats["totals"]["token_percentage"], 50.0)
        self.assertEqual(stats["totals"]["messages"], 2)
        self.assertEqual(stats["totals"]["message_percentage"], 0.8)
        # 9,500 tokens in 30 min: the other 9,500 take 30 more minutes from now
        self.assertEqual(stats["predictions"]["tokens_run_out"], iso_ms(ms(now) + 30 * 60_000))
        self.assertEqual(stats["predictions"]["limit_resets_at"], "2026-11-20T14:00:00.000Z")
        self.assertEqual(stats["predictions"]["limit_resets_at_local"], "2026-11-20T15:00:00+01:00")
        self.assertAlmostEqual(stats["totals"]["time_to_reset_percentage"], round((45 + 14.13) / 300 * 100, 2), places=1)
        max20 = stats_payload(v.blocks, v.models, ms(now), {"plan": "max20", "timezone": "UTC"}, zone_for("UTC"), None)
        self.assertAlmostEqual(max20["totals"]["token_percentage"], round(9500 / 220_000 * 100, 2))

    def test_custom_plan_uses_p90_of_recent_completed_blocks(self):
        lines = []
        for day, tokens in enumerate([10_000, 30_000, 50_000, 70_000, 90_000]):
            lines.append(assistant_line(at(hours=day * 24), inp=tokens, out=0, message_id=f"m{day}"))
        write(self.root, "p/a.jsonl", lines)
        now = at(hours=4 * 24 + 6)
        service = self.service(now)
        service.refresh()
        v = service.view
        stats = stats_payload(v.blocks, v.models, ms(now), {"plan": "custom", "timezone": "UTC"}, zone_for("UTC"), None)
        # completed blocks: 10k, 30k, 50k, 70k, 90k -> P90 = 82,000
        self.assertEqual(stats["config_applied"]["limits"]["tokens"], 82_000)
        explicit = stats_payload(v.blocks, v.models, ms(now), {"plan": "custom", "custom_limit_tokens": 5, "timezone": "UTC"}, zone_for("UTC"), None)
        self.assertEqual(explicit["config_applied"]["limits"]["tokens"], 5)

    def test_sessions_filter_by_hours_limit_and_id(self):
        write(self.root, "p/a.jsonl", [assistant_line(at(hours=h * 6), message_id=f"m{h}") for h in range(6)])
        now = at(hours=36)
        service = self.service(now)
        service.refresh()
        v = service.view
        all_blocks = sessions_payload(v.blocks, v.models, ms(now), 720, 1000, None)
        self.assertEqual(all_blocks["total_count"], 11)  # 6 blocks and the 5 gaps between them
        recent = sessions_payload(v.blocks, v.models, ms(now), 7, 1000, None)
        self.assertEqual([s["entries"] for s in recent["sessions"]], [0, 1])
        limited = sessions_payload(v.blocks, v.models, ms(now), 720, 2, None)
        self.assertEqual(len(limited["sessions"]), 2)
        one = sessions_payload(v.blocks, v.models, ms(now), 720, 10, "2026-11-20T15:00:00.000Z")
        self.assertEqual(one["total_count"], 1)


if __name__ == "__main__":
    unittest.main()


class BackgroundRebuild(TempTree):
    """A deleted file (Claude Code deletes old transcripts) makes the store stale: the new one is
    built without the data lock, reports answer from the old one meanwhile, then it is swapped."""

    def test_reports_answer_from_the_old_store_while_a_deleted_file_is_rebuilt_away(self):
        now = at(hours=1)
        write(self.root, "p/keep.jsonl", [assistant_line(at(), out=100, message_id=f"k{i}") for i in range(3)])
        gone = write(self.root, "q/gone.jsonl", [assistant_line(at(), out=1000, message_id=f"g{i}") for i in range(2)])
        building = threading.Event()
        release = threading.Event()

        class SlowStore(LogStore):
            def refresh(self, found=None):
                if self.generation > 0:  # the background rebuild, not the first scan
                    building.set()
                    release.wait(10)
                return super().refresh(found)

        original = service_module.LogStore
        service_module.LogStore = SlowStore
        self.addCleanup(setattr, service_module, "LogStore", original)
        service = self.service(now)
        service.refresh()
        zone = zone_for("UTC")
        out = lambda: sum(d["output_tokens"] for d in service.report("daily", zone)["daily"])  # noqa: E731
        self.assertEqual(out(), 2300)

        os.remove(gone)
        refresher = threading.Thread(target=service.refresh)
        refresher.start()
        self.assertTrue(building.wait(5))
        # Mid-rebuild: a report, the status line's session and the view answer at once, from the
        # old store (a report that waited for the rebuild would time out here).
        answered = []
        reader = threading.Thread(target=lambda: answered.append((out(), service.claude_session("keep")["found"])))
        reader.start()
        reader.join(5)
        self.assertEqual(answered, [(2300, True)])
        self.assertEqual(service.view.entries, 5)

        release.set()
        refresher.join(10)
        self.assertFalse(refresher.is_alive())
        # Swapped: exactly what the remaining files say, as a fresh start would.
        self.assertEqual(out(), 300)
        self.assertEqual((service.view.entries, service.rebuilds), (3, 1))
        fresh = UsageService([self.root], PRICES, clock=lambda: now.timestamp())
        fresh.refresh()
        self.assertEqual(
            fresh.report("daily", zone)["daily"], service.report("daily", zone)["daily"]
        )


class WindowSums(TempTree):
    def test_sums_follow_appends_in_and_out_of_time_order(self):
        now = at(hours=6)
        write(self.root, "p/a.jsonl", [assistant_line(at(hours=2), out=100, message_id="a1")])
        service = self.service(now)
        service.refresh()
        t0 = ms(at())
        whole = (t0, t0 + 6 * 3_600_000)
        self.assertEqual(service.window_sums([whole])[0]["output_tokens"], 100)
        # Appended later but older (another session's file): the order is rebuilt.
        write(self.root, "p/b.jsonl", [assistant_line(at(hours=1), out=10, message_id="b1")])
        write(self.root, "p/a.jsonl", [assistant_line(at(hours=3), out=1, message_id="a2")], mode="a")
        service.refresh()
        first_hours, later = service.window_sums([(t0, t0 + 2 * 3_600_000), (t0 + 2 * 3_600_000, t0 + 6 * 3_600_000)])
        self.assertEqual((first_hours["output_tokens"], first_hours["entries"]), (10, 1))
        self.assertEqual((later["output_tokens"], later["entries"]), (101, 2))
        self.assertAlmostEqual(later["cost_usd"], round(SONNET["output_cost_per_token"] * 101 + SONNET["input_cost_per_token"] * 20, 6))
