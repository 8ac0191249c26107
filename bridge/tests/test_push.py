import io
import json
import shutil
import tempfile
import unittest
from unittest import mock

import usage_push

from .fixtures import assistant_line, at, write


class PushedRequests(unittest.TestCase):
    """What one push sends, by ccusage 20's rules: each request's best line (a better one later
    again, for the gateway to replace), no side-chain replay of a message it sends the main
    chain's line of, and the places of a message-without-requestId's earlier lines."""

    def setUp(self) -> None:
        self.root = tempfile.mkdtemp(prefix="ug-push-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def pushed(self, *extra: str) -> list:
        batches = []
        gateway = mock.Mock()
        gateway.send.side_effect = lambda entries: batches.append([dict(e) for e in entries])
        gateway.totals = {"received": 0, "accepted": 0, "duplicates": 0, "superseded": 0}
        # (No other agent's folder of this machine is read.)
        none = [f"--{flag}={self.root}/none" for flag in ("codex-home", "gemini-dir", "opencode-dir", "amp-dir")]
        args = usage_push.parse_args(["--all", "--quiet", "--state-dir", f"{self.root}/state",
                                      "--data-dir", self.root, *none, *extra])
        with mock.patch.object(usage_push, "Gateway", return_value=gateway):
            self.assertEqual(usage_push.push(args, out=io.StringIO()), 0)
        return batches

    def test_the_best_line_of_each_request_and_a_better_one_again(self):
        write(self.root, "p/a.jsonl", [
            assistant_line(at(), out=3, message_id="m1", request_id="r1"),
            assistant_line(at(seconds=1), out=700, message_id="m1", request_id="r1"),
            assistant_line(at(seconds=1), out=700, message_id="m1", request_id="r1"),
            assistant_line(at(seconds=2), out=9, message_id="m1", request_id="r1"),
            assistant_line(at(seconds=3), out=40, message_id="m2", request_id="r2"),
            assistant_line(at(seconds=4), out=5, message_id="m3", request_id="r3", sidechain=True),
            assistant_line(at(seconds=5), out=5, message_id="m2", request_id="r-btw", sidechain=True),
            assistant_line(at(seconds=6), out=2, message_id="m3", request_id="r3b"),
        ])
        one = self.pushed()
        self.assertEqual(len(one), 1)
        sent = [(e["message_id"], e["request_id"], e["output_tokens"], e.get("sidechain", False)) for e in one[0]]
        # The billed line took the partial's place in the batch; the replay of m2 is left out;
        # m3's replay came first (sent, marked), then its main-chain line (the gateway keeps it).
        self.assertEqual(sent, [("m1", "r1", 700, False), ("m2", "r2", 40, False),
                                ("m3", "r3", 5, True), ("m3", "r3b", 2, False)])
        # Batches of one: a better line of a request already sent is sent again.
        small = self.pushed("--batch", "1")
        self.assertEqual([b[0]["output_tokens"] for b in small][:2], [3, 700])

    def test_a_message_without_request_id_names_its_earlier_lines(self):
        path = write(self.root, "p/a.jsonl", [
            assistant_line(at(), out=3, message_id="m1", request_id=None),
            assistant_line(at(seconds=1), out=700, message_id="m1", request_id=None),
        ])
        with open(path, "rb") as handle:
            second = len(handle.readline())
        sent = self.pushed()[0]
        self.assertEqual(len(sent), 1)
        self.assertEqual((sent[0]["offset"], sent[0]["earlier_offsets"], sent[0]["output_tokens"]), (second, [0], 700))
        self.assertNotIn("request_id", sent[0])
        json.dumps(sent)  # what is sent is JSON


if __name__ == "__main__":
    unittest.main()


class PushLimits(unittest.TestCase):
    """The push client leaves out what the gateway would refuse, by the one file both read
    (bridge/push-limits.json): at each limit it sends, one past it it does not."""

    def entry(self, **change):
        entry = {"ts": int(at().timestamp() * 1000), "model": "m", "input_tokens": 1, "output_tokens": 1,
                 "cache_creation_tokens": 0, "cache_read_tokens": 0, "session_id": "s", "project_path": "p",
                 "project": "p", "file": "p/s.jsonl", "offset": 0}
        entry.update(change)
        return entry

    def test_each_limit_at_and_one_past(self):
        limits = usage_push.LIMITS
        top = limits["max_tokens_per_entry"]
        self.assertTrue(usage_push.sendable(self.entry(output_tokens=top)))
        self.assertFalse(usage_push.sendable(self.entry(output_tokens=top + 1)))
        self.assertTrue(usage_push.sendable(self.entry(cost_usd=limits["max_cost_usd"])))
        self.assertFalse(usage_push.sendable(self.entry(cost_usd=limits["max_cost_usd"] + 1)))
        self.assertTrue(usage_push.sendable(self.entry(ts=limits["min_entry_ts"])))
        self.assertFalse(usage_push.sendable(self.entry(ts=limits["min_entry_ts"] - 1)))
        for name, longest in limits["text_fields"].items():
            with self.subTest(name=name):
                self.assertTrue(usage_push.sendable(self.entry(**{name: "x" * longest})))
                self.assertFalse(usage_push.sendable(self.entry(**{name: "x" * (longest + 1)})))
        with self.assertRaises(SystemExit), mock.patch("sys.stderr", io.StringIO()) as said:
            usage_push.parse_args(["--batch", str(limits["max_entries_per_push"] + 1)])
        self.assertIn(f"--batch must be 1-{limits['max_entries_per_push']}", said.getvalue())


class PushCredentials(unittest.TestCase):
    def test_a_member_token_and_an_api_key_are_both_sent(self):
        # (Only the key, before: with both set a member's lines went in as the key's.)
        env = {"USAGE_GATEWAY_TOKEN": "ugm_member", "USAGE_GATEWAY_API_KEY": "k" * 20}
        with mock.patch.dict("os.environ", env):
            headers = usage_push.Gateway(usage_push.parse_args([])).headers
        self.assertEqual((headers["Authorization"], headers["X-API-Key"]), ("Bearer ugm_member", "k" * 20))
