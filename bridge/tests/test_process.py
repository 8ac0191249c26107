"""The bridge as the gateway's supervisor sees it: a real process, real HTTP, real signals."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from .fixtures import assistant_line, write

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "usage_bridge.py")


def request(url: str, method: str = "GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class BridgeProcess(unittest.TestCase):
    def setUp(self) -> None:
        self.root = tempfile.mkdtemp(prefix="ub-proc-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.data = os.path.join(self.root, "claude")
        self.state = os.path.join(self.root, "state")
        os.makedirs(os.path.join(self.data, "projects"))
        self.procs = []

    def tearDown(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()

    def start(self, *extra: str, port: int = 0):
        # Other agents' folders of its own (never the machine's ~/.codex and the like).
        agents = []
        for flag in ("--codex-home", "--gemini-dir", "--opencode-dir", "--amp-dir"):
            agents += [flag, os.path.join(self.root, flag.strip("-"))]
        proc = subprocess.Popen(
            [sys.executable, SCRIPT, "--port", str(port), "--data-dir", self.data, "--state-dir", self.state, *agents,
             *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.procs.append(proc)
        line = proc.stdout.readline()
        match = re.match(r"usage-bridge ready on (http://127\.0\.0\.1:(\d+))$", line.strip())
        self.assertIsNotNone(match, f"unexpected first line {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}")
        url = match.group(1)
        # Until the first scan is complete: a bridge that never gets there fails the test (after
        # a minute: a loaded machine is slow, not broken).
        deadline = time.monotonic() + 60
        while not request(url + "/health")[1]["initial_scan_complete"]:
            self.assertLess(time.monotonic(), deadline, "the first scan did not complete")
            time.sleep(0.05)
        return proc, url

    def test_routes_errors_and_sigterm(self):
        now = datetime.now(timezone.utc)
        write(self.data, "p/a.jsonl", [assistant_line(now - timedelta(minutes=10), message_id="m1"),
                                       assistant_line(now - timedelta(minutes=5), message_id="m2")])
        proc, url = self.start()
        status, health = request(url + "/health")
        self.assertEqual((status, health["status"], health["files"], health["entries"]), (200, "healthy", 1, 2))
        status, stats = request(url + "/usage/stats?plan=max5&timezone=Asia/Tokyo")
        self.assertEqual(status, 200)
        self.assertEqual(stats["current_session"]["entries"], 2)
        self.assertEqual(stats["config_applied"]["plan"], "max5")
        status, sessions = request(url + "/usage/sessions?hours_back=1&limit=5")
        self.assertEqual((status, sessions["total_count"]), (200, 1))

        status, body = request(url + "/nope")
        self.assertEqual((status, body["status"]), (404, 404))
        status, body = request(url + "/usage/stats?timezone=Mars/Olympus&custom_limit_tokens=-3")
        self.assertEqual(status, 400)
        self.assertEqual(sorted(e["field"] for e in body["errors"]), ["custom_limit_tokens", "timezone"])
        status, body = request(url + "/usage/sessions?hours_back=721&limit=0&session_id=%3Cscript%3E")
        self.assertEqual(sorted(e["field"] for e in body["errors"]), ["hours_back", "limit", "session_id"])
        self.assertNotIn("Traceback", json.dumps(body))

        # SIGTERM: a clean exit (how fast is the drills' figure, not an assertion here).
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)

    def test_report_routes_and_their_400s(self):
        day = datetime(2026, 11, 2, 23, 30, tzinfo=timezone.utc)
        write(self.data, "shop/a.jsonl", [assistant_line(day, inp=5, out=50, message_id="m1"),
                                          assistant_line(day + timedelta(hours=1), inp=7, out=70, message_id="m2")])
        write(self.data, "bank/b.jsonl", [assistant_line(day, inp=1, out=10, message_id="m3")])
        _, url = self.start()
        status, daily = request(url + "/usage/reports/daily?timezone=UTC")
        self.assertEqual(status, 200)
        self.assertEqual([(r["date"], r["input_tokens"]) for r in daily["daily"]], [("2026-11-02", 6), ("2026-11-03", 7)])
        self.assertEqual(daily["totals"]["output_tokens"], 130)
        status, berlin = request(url + "/usage/reports/daily?timezone=Europe/Berlin&project=shop&breakdown=false")
        self.assertEqual([(r["date"], r["input_tokens"]) for r in berlin["daily"]], [("2026-11-03", 12)])
        self.assertNotIn("model_breakdowns", berlin["daily"][0])
        status, weekly = request(url + "/usage/reports/weekly?start_of_week=monday&timezone=UTC")
        self.assertEqual([r["week"] for r in weekly["weekly"]], ["2026-11-02"])
        status, monthly = request(url + "/usage/reports/monthly?order=desc")
        self.assertEqual([r["month"] for r in monthly["monthly"]], ["2026-11"])
        status, sessions = request(url + "/usage/reports/sessions?timezone=UTC&order=desc")
        self.assertEqual(
            [(r["project_path"], r["session_id"], r["last_activity"], r["input_tokens"]) for r in sessions["sessions"]],
            [("shop", "a", "2026-11-03T00:30:00.000Z", 12), ("bank", "b", "2026-11-02T23:30:00.000Z", 1)],
        )
        status, claude = request(url + "/usage/claude-session?session_id=a")
        self.assertEqual((status, claude["found"], claude["input_tokens"], claude["entries"]), (200, True, 12, 2))
        status, unknown = request(url + "/usage/claude-session?session_id=nobody")
        self.assertEqual((unknown["found"], unknown["cost_usd"], unknown["last_activity"]), (False, 0.0, None))
        self.assertEqual(request(url + "/usage/claude-session?session_id=../x&x=1")[0], 400)
        # Windows (the official 5-hour / 7-day ones): [since, until) in epoch ms.
        start = int(day.timestamp() * 1000)
        status, windows = request(url + f"/usage/window?ranges={start}-{start + 1},{start}-{start + 7_200_000},{start + 1}-{start + 1}")
        self.assertEqual(status, 200)
        self.assertEqual([(w["input_tokens"], w["output_tokens"], w["entries"]) for w in windows["windows"]],
                         [(6, 60, 2), (13, 130, 3), (0, 0, 0)])
        self.assertEqual(windows["windows"][1]["total_tokens"], 143)
        self.assertEqual([m["model"] for m in windows["windows"][1]["models"]], ["claude-sonnet-4-5-20250929"])
        status, body = request(url + "/usage/window?ranges=5-4,x&y=1")
        self.assertEqual((status, sorted(e["field"] for e in body["errors"])), (400, ["ranges", "y"]))
        self.assertEqual(request(url + f"/usage/window?ranges=0-{32 * 86_400_000}")[0], 400)
        # reset_hour: a day that starts at 01:00 keeps 23:30 and 00:30 together.
        status, shifted = request(url + "/usage/reports/daily?timezone=UTC&reset_hour=1")
        self.assertEqual([(r["date"], r["input_tokens"]) for r in shifted["daily"]], [("2026-11-02", 13)])
        self.assertEqual(shifted["reset_hour"], 1)

        status, body = request(url + "/usage/reports/daily?since=2026-13-01&until=x&timezone=Mars/Olympus"
                                     "&order=up&start_of_week=someday&breakdown=maybe&reset_hour=24&color=red")
        self.assertEqual(status, 400)
        self.assertEqual(
            sorted(e["field"] for e in body["errors"]),
            ["breakdown", "color", "order", "reset_hour", "since", "start_of_week", "timezone", "until"],
        )
        self.assertEqual(request(url + "/usage/reports/yearly")[0], 404)

    def test_config_is_validated_persisted_atomically_and_survives_a_restart(self):
        proc, url = self.start()
        status, body = request(url + "/usage/config", "POST", {"plan": "gold", "reset_hour": 24, "colour": "red"})
        self.assertEqual(status, 400)
        self.assertEqual(sorted(e["field"] for e in body["errors"]), ["colour", "plan", "reset_hour"])
        self.assertFalse(os.path.exists(os.path.join(self.state, "config.json")))

        status, body = request(url + "/usage/config", "POST", {"plan": "max20", "timezone": "Europe/Berlin", "reset_hour": 4})
        self.assertEqual((status, body["plan"], body["timezone"], body["reset_hour"]), (200, "max20", "Europe/Berlin", 4))
        self.assertEqual(os.listdir(self.state), ["config.json"])  # no temp file left behind
        proc.terminate()
        proc.wait(timeout=5)

        _, url = self.start()
        status, body = request(url + "/usage/config")
        self.assertEqual((body["plan"], body["timezone"], body["reset_hour"]), ("max20", "Europe/Berlin", 4))
        self.assertIsNotNone(body["updated_at"])

    def test_config_refuses_prototype_keys_deep_bodies_and_bad_bytes_and_keeps_what_it_had(self):
        _, url = self.start()
        self.assertEqual(request(url + "/usage/config", "POST", {"plan": "max5"})[0], 200)

        def post(raw: bytes):
            req = urllib.request.Request(url + "/usage/config", data=raw, method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=5) as res:
                    return res.status, json.loads(res.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        cases = {
            b'{"__proto__":{"plan":"max20"}}': ["__proto__"],
            b'{"plan":"pro","constructor":{"prototype":{"plan":"max20"}}}': ["constructor"],
            b'{"theme":{"a":[{"__proto__":1}]}}': ["theme.a[0].__proto__"],
        }
        for raw, fields in cases.items():
            status, body = post(raw)
            self.assertEqual(status, 400, raw)
            self.assertEqual([e["field"] for e in body["errors"]], fields)
            self.assertIn("prototype", body["errors"][0]["message"])
        status, body = post(b"[" * 10_000 + b"]" * 10_000)
        self.assertEqual((status, body["errors"][0]["message"]), (400, "the body nests deeper than 64 levels"))
        status, body = post(b'{"plan":"caf\xc3\x28"}')
        self.assertEqual((status, body["errors"][0]["message"]), (400, "the body is not valid UTF-8"))
        self.assertEqual(request(url + "/usage/config")[1]["plan"], "max5")

    def test_an_appended_line_shows_reading_only_the_new_bytes(self):
        now = datetime.now(timezone.utc)
        path = write(self.data, "p/a.jsonl", [assistant_line(now - timedelta(minutes=3), message_id="m1", out=100)])
        _, url = self.start()
        self.assertEqual(request(url + "/usage/stats")[1]["totals"]["tokens"], 110)
        line = assistant_line(now - timedelta(minutes=1), message_id="m2", inp=0, out=1000)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        # How soon it shows is bench:bridge-scan's figure; here: that it shows, by the next refreshes.
        deadline = time.monotonic() + 30
        while request(url + "/usage/stats")[1]["totals"]["tokens"] != 1110:
            self.assertLess(time.monotonic(), deadline, "the appended line never showed")
            time.sleep(0.02)
        health = request(url + "/health")[1]
        self.assertEqual(health["bytes_read_total"], os.path.getsize(path))
        self.assertIn(health["last_refresh_bytes"], (0, len(line) + 1))

    def test_other_agents_lines_and_rows_show_as_they_arrive(self):
        import sqlite3

        compact = lambda value: json.dumps(value, separators=(",", ":")) + "\n"  # noqa: E731
        at = datetime.now(timezone.utc).replace(microsecond=0)
        stamp = lambda minutes: (at - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
        count = lambda minutes, inp: compact({"timestamp": stamp(minutes), "type": "event_msg", "payload": {  # noqa: E731
            "type": "token_count", "info": {"last_token_usage": {
                "input_tokens": inp, "cached_input_tokens": 0, "output_tokens": 1, "reasoning_output_tokens": 0,
                "total_tokens": inp + 1}}}})
        rollout = os.path.join(self.root, "codex-home", "sessions", "rollout-a.jsonl")
        os.makedirs(os.path.dirname(rollout))
        with open(rollout, "w") as handle:
            handle.write(compact({"timestamp": stamp(9), "type": "turn_context", "payload": {"model": "gpt-5"}}) + count(8, 100))
        chat = os.path.join(self.root, "gemini-dir", "h", "chats", "session-a.jsonl")
        os.makedirs(os.path.dirname(chat))
        gemini = lambda i, inp: compact({"id": f"g{i}", "timestamp": stamp(7), "type": "gemini", "model": "gemini-2.5-flash",  # noqa: E731
                                         "tokens": {"input": inp, "output": 1, "cached": 0, "thoughts": 0, "tool": 0,
                                                    "total": inp + 1}})
        with open(chat, "w") as handle:
            handle.write(compact({"sessionId": "s", "projectHash": "h"}) + gemini(1, 1000))
        os.makedirs(os.path.join(self.root, "opencode-dir"))
        db = sqlite3.connect(os.path.join(self.root, "opencode-dir", "opencode.db"))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, data TEXT NOT NULL)")
        row = lambda i, inp: (f"msg_{i}", "ses", json.dumps({  # noqa: E731
            "modelID": "gpt-5.1-codex", "providerID": "openai", "cost": 0,
            "tokens": {"input": inp, "output": 1, "reasoning": 0, "cache": {"read": 0, "write": 0}},
            "time": {"created": int((at - timedelta(minutes=6)).timestamp() * 1000)}}))
        db.execute("INSERT INTO message VALUES (?, ?, ?)", row(1, 10000))
        db.commit()
        self.addCleanup(db.close)
        _, url = self.start()

        def totals(agent):
            return request(url + f"/usage/reports/monthly?agent={agent}")[1]["totals"]["input_tokens"]

        self.assertEqual((totals("codex"), totals("gemini"), totals("opencode")), (100, 1000, 10000))
        health = request(url + "/health")[1]["agents"]
        self.assertEqual({a: health[a]["events"] for a in ("codex", "gemini", "opencode", "amp")},
                         {"codex": 1, "gemini": 1, "opencode": 1, "amp": 0})
        self.assertTrue(health["codex"]["folders"][0]["exists"])
        # How soon they show is bench:bridge-scan's figure; here: that they show.
        with open(rollout, "a") as handle:
            handle.write(count(1, 200))
        with open(chat, "a") as handle:
            handle.write(gemini(2, 2000))
        db.execute("INSERT INTO message VALUES (?, ?, ?)", row(2, 20000))
        db.commit()
        deadline = time.monotonic() + 30
        while (totals("codex"), totals("gemini"), totals("opencode")) != (300, 3000, 30000):
            self.assertLess(time.monotonic(), deadline, "the new line or row never showed")
            time.sleep(0.05)
        self.assertEqual(request(url + "/usage/reports/daily?agent=all")[1]["totals"]["input_tokens"], 33300)
        # No rate limits in these lines: no official windows, and the route takes no parameter.
        self.assertEqual(request(url + "/usage/agent-limits"), (200, {"codex": []}))
        self.assertEqual(request(url + "/usage/agent-limits?x=1")[0], 400)

    def test_a_connection_that_sends_nothing_is_closed_after_the_request_timeout(self):
        _, url = self.start("--request-timeout", "0.5")
        host, port = url.replace("http://", "").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as stalled:
            stalled.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            # The bridge closes it (recv returns b"" at its end); the 10 s is only a safety net.
            self.assertEqual(stalled.recv(1024), b"")
        self.assertEqual(request(url + "/health")[0], 200)

    def test_a_taken_port_is_reported_and_fatal(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            proc = subprocess.run(
                [sys.executable, SCRIPT, "--port", str(port), "--data-dir", self.data],
                capture_output=True, text=True, timeout=10,
            )
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("address already in use", proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_a_killed_bridge_can_be_restarted_on_its_fixed_port_at_once(self):
        # A bridge that dies closes its side of every keep-alive connection first, which leaves
        # them in TIME-WAIT on its port for 60 s; a restart on that fixed port must still bind.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        for _ in range(2):
            proc, url = self.start(port=port)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            for _ in range(3):
                conn.request("GET", "/usage/config")
                response = conn.getresponse()
                response.read()
                self.assertEqual(response.status, 200)
            proc.kill()
            proc.wait()
            conn.close()

    def test_exits_when_its_parent_is_gone(self):
        parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        self.addCleanup(lambda: parent.poll() is None and parent.kill())
        proc, _ = self.start("--parent-pid", str(parent.pid))
        parent.kill()
        parent.wait()
        self.assertEqual(proc.wait(timeout=3), 0)
        self.assertIn("parent process", proc.stderr.read())


if __name__ == "__main__":
    unittest.main()
