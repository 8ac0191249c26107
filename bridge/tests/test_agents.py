"""Other agents' readers (usagebridge.agents): what they count, read as the files grow, and what
they survive. Their figures against ccusage's binary are compared in test/agents-ccusage.e2e-spec.ts."""

import json
import os
import sqlite3
import tempfile
import unittest
from zoneinfo import ZoneInfo

from usagebridge.agents import FALLBACK_MODEL, UNPRICED
from usagebridge.agents.prices import AgentPrices
from usagebridge.agents.store import AgentStore
from usagebridge.pricing import PriceTable
from usagebridge.reports import build_report, build_sessions_report
from usagebridge.store import LogStore

HERE = os.path.dirname(os.path.abspath(__file__))
PRICES = AgentPrices.from_file(os.path.join(os.path.dirname(HERE), "pricing.json"))
CLAUDE_PRICES = PriceTable.from_file(os.path.join(os.path.dirname(HERE), "pricing.json"))
UTC = ZoneInfo("UTC")


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":")) + "\n"


def count(at: str, last=None, total=None, **payload) -> str:
    info = None
    if last is not None or total is not None:
        info = {}
        if last is not None:
            info["last_token_usage"] = last
        if total is not None:
            info["total_token_usage"] = total
    return compact({"timestamp": at, "type": "event_msg", "payload": {"type": "token_count", "info": info, "rate_limits": None, **payload}})


def usage(inp: int, cached: int, out: int, reasoning: int = 0) -> dict:
    return {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
            "reasoning_output_tokens": reasoning, "total_tokens": inp + out}


def turn(at: str, model: str) -> str:
    return compact({"timestamp": at, "type": "turn_context", "payload": {"cwd": "/w", "model": model}})


class AgentsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="agents-")
        self.codex = os.path.join(self.dir, "codex")
        self.gemini = os.path.join(self.dir, "gemini")
        self.opencode = os.path.join(self.dir, "opencode")
        for folder in (self.codex, self.gemini, self.opencode, os.path.join(self.dir, "claude", "projects")):
            os.makedirs(folder, exist_ok=True)
        self.store = AgentStore(PRICES, [self.codex], [self.gemini], [self.opencode])
        self.claude = LogStore([os.path.join(self.dir, "claude")], CLAUDE_PRICES)

    def write(self, relative: str, text: str, mode: str = "a") -> str:
        path = os.path.join(self.dir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode) as handle:
            handle.write(text)
        return path

    def daily(self, agent: str = "all") -> dict:
        return build_report(self.claude, "daily", UTC, agent=agent, agents=self.store)

    def totals(self, agent: str) -> dict:
        return self.daily(agent)["totals"]

    # -- Codex ---------------------------------------------------------------------------------

    def test_codex_last_usage_and_deltas_of_totals_never_below_zero(self):
        rollout = "codex/sessions/2026/11/01/rollout-a.jsonl"
        self.write(rollout, turn("2026-11-01T10:00:00.000Z", "gpt-5.1-codex")
                   + count("2026-11-01T10:00:01.000Z", total=usage(1000, 400, 100, 20))
                   + count("2026-11-01T10:00:02.000Z", info=None)
                   + count("2026-11-01T10:00:03.000Z", total=usage(1600, 500, 150, 30))
                   # A total below the previous one (a restarted count) adds nothing.
                   + count("2026-11-01T10:00:04.000Z", total=usage(1500, 500, 150, 30))
                   + count("2026-11-01T10:00:05.000Z", last=usage(10, 0, 5)))
        self.assertTrue(self.store.refresh())
        totals = self.totals("codex")
        # Uncached input: (1000-400) + (600-100) + 10; cache reads 400 + 100; output 100+50+5.
        self.assertEqual((totals["input_tokens"], totals["cache_read_tokens"], totals["output_tokens"]), (1110, 500, 155))
        self.assertEqual(totals["reasoning_output_tokens"], 30)
        self.assertEqual(totals["total_tokens"], 1100 + 650 + 15)
        expected = 1110 * 1.25e-06 + 500 * 1.25e-07 + 155 * 1e-05
        self.assertAlmostEqual(totals["cost_usd"], expected, places=12)

    def test_codex_appended_lines_are_read_incrementally_and_a_partial_line_waits(self):
        path = self.write("codex/sessions/rollout-b.jsonl", turn("2026-11-01T10:00:00.000Z", "gpt-5")
                          + count("2026-11-01T10:00:01.000Z", last=usage(100, 0, 10)))
        self.store.refresh()
        first = os.path.getsize(path)
        self.write("codex/sessions/rollout-b.jsonl", count("2026-11-01T11:00:01.000Z", last=usage(200, 0, 20))[:-20])
        self.assertFalse(self.store.refresh() and self.totals("codex")["input_tokens"] != 100)
        self.assertEqual(self.totals("codex")["input_tokens"], 100)
        reader = next(iter(self.store._codex.values())).reader
        self.assertEqual(reader.offset, first)
        self.write("codex/sessions/rollout-b.jsonl", count("2026-11-01T11:00:01.000Z", last=usage(200, 0, 20))[-20:])
        self.assertTrue(self.store.refresh())
        self.assertEqual(self.totals("codex")["input_tokens"], 300)
        self.assertIs(next(iter(self.store._codex.values())).reader, reader)

    def test_codex_rewritten_rollout_is_read_again_from_the_start(self):
        self.write("codex/sessions/rollout-c.jsonl", turn("2026-11-01T10:00:00.000Z", "gpt-5")
                   + count("2026-11-01T10:00:01.000Z", last=usage(100, 0, 10)))
        self.store.refresh()
        self.write("codex/sessions/rollout-c.jsonl", turn("2026-11-01T10:00:00.000Z", "gpt-5")
                   + count("2026-11-01T10:00:09.000Z", last=usage(7, 0, 1)), mode="w")
        self.store.refresh()
        self.assertEqual(self.totals("codex")["input_tokens"], 7)

    def test_codex_without_a_model_is_gpt_5_flagged_and_an_unknown_model_costs_nothing(self):
        self.write("codex/sessions/rollout-d.jsonl", count("2026-11-01T10:00:01.000Z", last=usage(100, 0, 10))
                   + turn("2026-11-01T10:00:02.000Z", "gpt-42-turbo")
                   + count("2026-11-01T10:00:03.000Z", last=usage(50, 0, 5)))
        self.store.refresh()
        sums = self.store.sums["codex"]
        self.assertEqual(sums.fallback, {"gpt-5"})
        self.assertEqual(sums.unpriced, {"gpt-42-turbo"})
        report = self.daily("codex")
        self.assertEqual(report["unpriced_models"], ["gpt-42-turbo"])
        breakdown = {b["model"]: b["cost_usd"] for b in report["daily"][0]["model_breakdowns"]}
        self.assertEqual(breakdown["gpt-42-turbo"], 0)
        self.assertAlmostEqual(breakdown["gpt-5"], 100 * 1.25e-06 + 10 * 1e-05, places=12)

    def test_codex_broken_lines_are_skipped_and_counted(self):
        self.write("codex/sessions/rollout-e.jsonl", turn("2026-11-01T10:00:00.000Z", "gpt-5")
                   + '{"type":"event_msg","payload":{"type":"token_count","info":{\n'
                   + count("2026-11-01T10:00:01.000Z", last=usage(100, 0, 10)))
        self.store.refresh()
        self.assertEqual(self.store.bad_lines, 1)
        self.assertEqual(self.totals("codex")["input_tokens"], 100)

    def test_codex_events_repeated_in_a_forked_rollout_count_once(self):
        history = turn("2026-11-01T10:00:00.000Z", "gpt-5") + count("2026-11-01T10:00:01.000Z", last=usage(100, 0, 10))
        meta = lambda i, at, parent=None: compact({"timestamp": at, "type": "session_meta", "payload": {  # noqa: E731
            "id": i, "timestamp": at, "cwd": "/w", **({"forked_from_id": parent} if parent else {})}})
        self.write("codex/sessions/rollout-1.jsonl", meta("p", "2026-11-01T09:59:00.000Z") + history)
        self.write("codex/sessions/rollout-2.jsonl", meta("f", "2026-11-01T11:00:00.000Z", "p") + history
                   + count("2026-11-01T11:00:01.000Z", last=usage(5, 0, 1)))
        self.store.refresh()
        self.assertEqual(self.totals("codex")["input_tokens"], 105)
        sessions = build_sessions_report(self.claude, UTC, agent="codex", agents=self.store)["sessions"]
        self.assertEqual({s["session_id"]: s["input_tokens"] for s in sessions}, {"rollout-1": 100, "rollout-2": 5})

    def test_codex_a_parent_event_copied_after_the_fork_started_counts_in_both_sessions(self):
        # ccusage 20.0.24 (checked against its binary): its session report keeps an event once per
        # session except a fork's replay of its parent's history from before the fork started;
        # its daily report once overall.
        meta = lambda i, at, parent=None: compact({"timestamp": at, "type": "session_meta", "payload": {  # noqa: E731
            "id": i, "timestamp": at, "cwd": "/w", **({"forked_from_id": parent} if parent else {})}})
        late = count("2026-11-01T12:00:00.000Z", last=usage(7, 0, 1))
        self.write("codex/sessions/rollout-1.jsonl", meta("p", "2026-11-01T09:59:00.000Z")
                   + turn("2026-11-01T10:00:00.000Z", "gpt-5") + late)
        self.write("codex/sessions/rollout-2.jsonl", meta("f", "2026-11-01T11:00:00.000Z", "p")
                   + turn("2026-11-01T10:00:00.000Z", "gpt-5") + late)
        self.store.refresh()
        self.assertEqual(self.totals("codex")["input_tokens"], 7)
        sessions = build_sessions_report(self.claude, UTC, agent="codex", agents=self.store)["sessions"]
        self.assertEqual({s["session_id"]: s["input_tokens"] for s in sessions}, {"rollout-1": 7, "rollout-2": 7})

    def test_codex_official_windows_are_each_limits_latest_snapshot_across_files(self):
        def limits(at: str, used: float, old_form: bool = False, **extra) -> str:
            seconds = 1793530000
            window = lambda pct, minutes, reset: {"used_percent": pct, "window_minutes": minutes,  # noqa: E731
                                                  **({"resets_in_seconds": 600} if old_form else {"resets_at": reset})}
            return count(at, last=usage(10, 0, 1), rate_limits={
                "limit_id": "codex", "primary": window(used, 300, seconds), "secondary": window(used / 4, 10080, seconds + 86400),
                "credits": None, "plan_type": "plus", **extra})
        # Old builds wrote resets_in_seconds (relative to the line's time); a null snapshot, and a
        # line of limits only (info null), are read as Codex writes them.
        self.write("codex/sessions/a.jsonl", turn("2026-11-01T10:00:00.000Z", "gpt-5")
                   + limits("2026-11-01T10:00:01.000Z", 12.0, old_form=True)
                   + count("2026-11-01T10:00:02.000Z", last=usage(1, 0, 1), rate_limits=None))
        self.write("codex/sessions/b.jsonl", turn("2026-11-01T09:00:00.000Z", "gpt-5")
                   + limits("2026-11-01T09:00:01.000Z", 50.0))
        self.store.refresh()
        [codex] = self.store.codex_limits()
        self.assertEqual(codex["observed_at"], "2026-11-01T10:00:01.000Z")
        self.assertEqual(codex["primary"], {"used_percent": 12.0, "window_minutes": 300,
                                            "resets_at": 1793527201 + 600})
        self.assertEqual(codex["secondary"]["window_minutes"], 10080)
        self.assertEqual(codex["plan_type"], "plus")
        # A later line in the other file (info null: limits only) takes over.
        self.write("codex/sessions/b.jsonl", compact({"timestamp": "2026-11-01T11:00:00.000Z", "type": "event_msg", "payload": {
            "type": "token_count", "info": None, "rate_limits": {"primary": {"used_percent": 81.5, "window_minutes": 300,
                                                                             "resets_at": 1793540000}}}}))
        self.store.refresh()
        [codex] = self.store.codex_limits()
        self.assertEqual((codex["observed_at"], codex["primary"]["used_percent"], codex["secondary"]),
                         ("2026-11-01T11:00:00.000Z", 81.5, None))

    # -- Gemini CLI ----------------------------------------------------------------------------

    def test_gemini_a_message_written_again_counts_its_last_write(self):
        chat = "gemini/hash/chats/session-2026-11-01T10-00-abcd1234.jsonl"
        message = lambda tokens: compact({"id": "g-1", "timestamp": "2026-11-01T10:00:02.000Z", "type": "gemini",  # noqa: E731
                                          "content": [], "tokens": tokens, "model": "gemini-2.5-flash"})
        self.write(chat, compact({"sessionId": "abcd1234-0000", "projectHash": "hash", "startTime": "2026-11-01T10:00:00.000Z"})
                   + message(None))
        self.store.refresh()
        self.assertEqual(self.daily("gemini")["daily"], [])
        # input includes cached (the total says so); thoughts are in the total, priced as output.
        self.write(chat, compact({"$set": {"lastUpdated": "2026-11-01T10:00:02.000Z"}})
                   + message({"input": 1000, "output": 50, "cached": 400, "thoughts": 30, "tool": 0, "total": 1080}))
        self.store.refresh()
        totals = self.totals("gemini")
        self.assertEqual((totals["input_tokens"], totals["cache_read_tokens"], totals["output_tokens"], totals["total_tokens"]),
                         (600, 400, 50, 1080))
        self.write(chat, message({"input": 2000, "output": 70, "cached": 0, "thoughts": 0, "tool": 0, "total": 2070}))
        self.store.refresh()
        self.assertEqual(self.totals("gemini")["input_tokens"], 2000)
        session = build_sessions_report(self.claude, UTC, agent="gemini", agents=self.store)["sessions"][0]
        self.assertEqual((session["session_id"], session["agent"]), ("abcd1234-0000", "gemini"))

    # -- OpenCode ------------------------------------------------------------------------------

    def opencode_db(self) -> sqlite3.Connection:
        db = sqlite3.connect(os.path.join(self.opencode, "opencode.db"))
        db.execute("CREATE TABLE IF NOT EXISTS message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, data TEXT NOT NULL)")
        return db

    def add_message(self, db, message_id: str, tokens: dict, cost: float = 0, model="gpt-5.1-codex", provider="openai"):
        data = {"id": message_id, "role": "assistant", "modelID": model, "providerID": provider, "cost": cost,
                "tokens": tokens, "time": {"created": 1793527200000}}
        db.execute("INSERT OR REPLACE INTO message VALUES (?, 'ses_1', ?)", (message_id, json.dumps(data)))
        db.commit()

    def test_opencode_rows_recorded_cost_and_reasoning(self):
        db = self.opencode_db()
        self.add_message(db, "msg_1", {"input": 100, "output": 10, "reasoning": 5, "cache": {"read": 50, "write": 0}})
        self.add_message(db, "msg_2", {"input": 1, "output": 1, "reasoning": 0, "cache": {"read": 0, "write": 0}}, cost=0.25)
        self.store.refresh()
        totals = self.totals("opencode")
        self.assertEqual((totals["input_tokens"], totals["output_tokens"], totals["total_tokens"], totals["reasoning_output_tokens"]),
                         (101, 11, 167, 5))
        self.assertAlmostEqual(totals["cost_usd"], 0.25 + 100 * 1.25e-06 + 15 * 1e-05 + 50 * 1.25e-07, places=12)
        # A new row is seen at the next refresh.
        self.add_message(db, "msg_3", {"input": 1000, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}})
        self.assertTrue(self.store.refresh())
        self.assertEqual(self.totals("opencode")["input_tokens"], 1101)
        db.close()

    def test_opencode_a_locked_database_is_skipped_counted_and_its_last_reading_kept(self):
        db = self.opencode_db()
        self.add_message(db, "msg_1", {"input": 100, "output": 10, "reasoning": 0, "cache": {"read": 0, "write": 0}})
        self.store.refresh()
        self.add_message(db, "msg_2", {"input": 50, "output": 1, "reasoning": 0, "cache": {"read": 0, "write": 0}})
        # Another process in the middle of writing (rollback journal, exclusive): no read gets in.
        writer = sqlite3.connect(os.path.join(self.opencode, "opencode.db"), isolation_level=None)
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("UPDATE message SET data = data")
        self.assertFalse(self.store.refresh())
        self.assertEqual(self.store.unreadable, 1)
        self.assertEqual(self.totals("opencode")["input_tokens"], 100)
        writer.execute("ROLLBACK")
        writer.close()
        # Released: the next refresh reads it.
        self.assertTrue(self.store.refresh())
        self.assertEqual(self.totals("opencode")["input_tokens"], 150)
        db.close()

    def test_opencode_database_is_opened_read_only(self):
        db = self.opencode_db()
        self.add_message(db, "msg_1", {"input": 100, "output": 10, "reasoning": 0, "cache": {"read": 0, "write": 0}})
        db.close()
        path = os.path.join(self.opencode, "opencode.db")
        os.chmod(path, 0o444)
        os.chmod(self.opencode, 0o555)
        try:
            self.store.refresh()
            self.assertEqual(self.totals("opencode")["input_tokens"], 100)
            self.assertEqual(sorted(os.listdir(self.opencode)), ["opencode.db"])
        finally:
            os.chmod(self.opencode, 0o755)
            os.chmod(path, 0o644)

    # -- reports ---------------------------------------------------------------------------------

    def test_rows_list_their_agents_and_a_filter_keeps_one_agent(self):
        self.write("codex/sessions/rollout-f.jsonl", turn("2026-11-01T10:00:00.000Z", "gpt-5")
                   + count("2026-11-01T10:00:01.000Z", last=usage(100, 0, 10)))
        db = self.opencode_db()
        self.add_message(db, "msg_1", {"input": 7, "output": 1, "reasoning": 0, "cache": {"read": 0, "write": 0}})
        db.close()
        self.store.refresh()
        rows = {r["date"]: r["agents"] for r in self.daily()["daily"]}
        self.assertEqual(rows, {"2026-11-01": ["codex", "opencode"]})
        self.assertEqual(self.totals("codex")["input_tokens"], 100)
        self.assertEqual(self.daily("claude")["daily"], [])
        # A Claude Code project filter leaves the other agents out.
        self.assertEqual(build_report(self.claude, "daily", UTC, project="x", agents=self.store)["daily"], [])


class AgentPricesTest(unittest.TestCase):
    def test_a_prompt_tier_prices_every_token_of_a_long_prompt_higher(self):
        prices = PRICES.lookup("codex", "gpt-5.4")
        self.assertEqual(prices["above"]["threshold_tokens"], 272000)
        at, flag = PRICES.cost(prices, 272000, 1000, 0, 0)
        self.assertAlmostEqual(at, 272000 * 2.5e-06 + 1000 * 1.5e-05)
        above, _ = PRICES.cost(prices, 200000, 1000, 0, 72001)
        self.assertAlmostEqual(above, 200000 * 5e-06 + 1000 * 2.25e-05 + 72001 * 5e-07)
        self.assertFalse(flag)

    def test_a_part_tier_prices_only_the_tokens_above_it(self):
        prices = PRICES.lookup("opencode", "anthropic/claude-sonnet-4-5")
        cost, _ = PRICES.cost(prices, 300000, 0, 0, 0)
        self.assertAlmostEqual(cost, 200000 * 3e-06 + 100000 * 6e-06)

    def test_an_unknown_model_costs_nothing_and_is_unpriced(self):
        self.assertEqual(PRICES.cost(PRICES.lookup("gemini", "gemini-9"), 10, 1, 0, 0), (0.0, True))
        self.assertEqual(PRICES.cost(None, 0, 0, 0, 0), (0.0, False))
        self.assertEqual((UNPRICED, FALLBACK_MODEL), (1, 2))


if __name__ == "__main__":
    unittest.main()
