#!/usr/bin/env python3
"""usage-push: sends this machine's coding agents' usage to a team gateway (docs/design.md §9).

    python3 bridge/usage_push.py [--all] [--file PATH ...] [--url URL] [--machine NAME]

Reads `projects/**/*.jsonl` of every Claude config folder with the bridge's own parser
(usagebridge.parse: one reading of a line for the bridge and the team ledger), and POSTs the new
entries to `$USAGE_GATEWAY_URL/api/usage/entries` in gzip batches. A cursor per file, written only
once the gateway has acknowledged the batch holding the file's lines, says where the next push
starts; an interrupted push (the gateway down, killed, a refusal) is simply run again — the
gateway counts each request once however often it is sent.

Without --all, lines older than the first push (or `usage-gateway-hook install --push`) are left
out; --all sends the whole history (files are read from their start; the ledger ignores what it
has). --file sends only those files (what a Stop/SessionEnd hook does with its transcript).

Other agents' usage (Codex, Gemini CLI, OpenCode, Amp: docs/agents.md) is read by the bridge's
readers and sent with its agent and key; a source (a rollout, a chat, a database) that changed
since the last acknowledged push is sent again whole (the gateway counts each event once).

Environment: USAGE_GATEWAY_URL (default http://127.0.0.1:3000), USAGE_GATEWAY_TOKEN (a member
token, sent as a bearer) or USAGE_GATEWAY_API_KEY, USAGE_GATEWAY_SPOOL_DIR (state, default
~/.usage-gateway), USAGE_GATEWAY_MACHINE (default: the host name), CLAUDE_CONFIG_DIR.
Exit codes: 0 done (or another push is running), 1 the gateway refused or could not be reached
(cursors kept: run again), 2 bad arguments. Standard library only.
"""

import argparse
import errno
import gzip
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from typing import Optional

if sys.version_info < (3, 9):
    sys.stderr.write("usage-push needs Python >= 3.9 (found %d.%d)\n" % sys.version_info[:2])
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from usagebridge.agents.prices import AgentPrices  # noqa: E402
from usagebridge.agents.store import AgentStore  # noqa: E402
from usagebridge.timeparse import parse_iso_ms  # noqa: E402
from usagebridge.parse import better, default_data_dirs, line_blocks, place_of, read_usage, refused_null  # noqa: E402

STATE_FILE = "push-state.json"
LOCK_FILE = "push.lock"
#: The gateway's limits on one entry (bridge/push-limits.json, which the gateway reads too): a line
#: beyond them is left out and counted as skipped rather than holding back every later line.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "push-limits.json"), encoding="utf-8") as _handle:
    LIMITS = json.load(_handle)
MAX_TOKENS = LIMITS["max_tokens_per_entry"]
MAX_COST = LIMITS["max_cost_usd"]
MIN_TS = LIMITS["min_entry_ts"]
MAX_AHEAD_MS = LIMITS["max_ahead_ms"]
MAX_EARLIER_OFFSETS = LIMITS["max_earlier_offsets"]
FIELD_LIMITS = LIMITS["text_fields"]
PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")


def default_machine() -> str:
    name = re.sub(r"[^\w.@:-]", "-", socket.gethostname() or "machine")[:128]
    return name or "machine"


def resolve_connection(args: argparse.Namespace) -> None:
    """The gateway and credential, by bin/gateway-connection.js's rules: the environment (or --url)
    wins; else what `install --url` kept in the state folder's gateway.json, its token only for its URL."""
    kept: dict = {}
    try:
        with open(os.path.join(args.state_dir, "gateway.json"), "r", encoding="utf-8") as handle:
            loaded = json.load(handle)
        if isinstance(loaded, dict) and isinstance(loaded.get("url"), str):
            kept = loaded
    except (OSError, ValueError):
        pass
    url = (args.url or os.environ.get("USAGE_GATEWAY_URL") or kept.get("url") or "http://127.0.0.1:3000").rstrip("/")
    args.url = url
    args.token = os.environ.get("USAGE_GATEWAY_TOKEN", "").strip()
    args.api_key = os.environ.get("USAGE_GATEWAY_API_KEY", "").strip()
    kept_token = kept.get("token")
    if not args.token and not args.api_key and isinstance(kept_token, str) and kept["url"].rstrip("/") == url:
        args.token = kept_token


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="usage-gateway-hook push", description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="send the whole history, not only what is new")
    parser.add_argument("--file", action="append", default=None, help="only this log file (repeatable)")
    parser.add_argument("--url", default=None,
                        help="the gateway (default: USAGE_GATEWAY_URL, else what install --url kept, else "
                             "http://127.0.0.1:3000)")
    parser.add_argument("--machine", default=os.environ.get("USAGE_GATEWAY_MACHINE") or default_machine())
    parser.add_argument("--state-dir", default=os.environ.get("USAGE_GATEWAY_SPOOL_DIR")
                        or os.path.join(os.path.expanduser("~"), ".usage-gateway"))
    parser.add_argument("--data-dir", action="append", default=None,
                        help="a Claude config folder holding projects/ (default: CLAUDE_CONFIG_DIR or ~/.config/claude and ~/.claude)")
    parser.add_argument("--codex-home", action="append", default=None, help="a Codex home (default: CODEX_HOME or ~/.codex)")
    parser.add_argument("--gemini-dir", action="append", default=None,
                        help="a Gemini CLI data folder (default: GEMINI_DATA_DIR or ~/.gemini/tmp)")
    parser.add_argument("--opencode-dir", action="append", default=None,
                        help="an OpenCode data folder (default: OPENCODE_DATA_DIR or ~/.local/share/opencode)")
    parser.add_argument("--amp-dir", action="append", default=None, help="an Amp data folder (default: AMP_DATA_DIR or ~/.local/share/amp)")
    parser.add_argument("--batch", type=int, default=500,
                        help=f"entries per request (1-{LIMITS['max_entries_per_push']})")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--retries", type=int, default=3, help="tries of a batch the gateway answers 429/503 (Retry-After honoured)")
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    parser.add_argument("--stdio", action="store_true",
                        help="hand batches to the parent instead of POSTing them: a JSON line per batch on stdout, "
                             "an answer line on stdin (the gateway's own machine, in-process)")
    args = parser.parse_args(argv)
    resolve_connection(args)
    if not 1 <= args.batch <= LIMITS["max_entries_per_push"]:
        parser.error(f"--batch must be 1-{LIMITS['max_entries_per_push']}")
    if not re.match(r"^[\w.@:-]{1,128}$", args.machine):
        parser.error("--machine may contain only letters, digits and _ . @ : - (at most 128)")
    return args


class Refused(Exception):
    """The gateway said no (or could not be reached): stop, keep the cursors, exit 1."""


class State:
    """Per gateway URL: when pushing started (`since`) and a cursor per file."""

    def __init__(self, directory: str, url: str):
        self.path = os.path.join(directory, STATE_FILE)
        self.url = url
        try:
            with open(self.path, "r", encoding="utf-8") as handle:
                self.data = json.load(handle)
            if not isinstance(self.data, dict):
                raise ValueError("not an object")
        except (OSError, ValueError):
            self.data = {}
        gateways = self.data.setdefault("gateways", {})
        self.mine = gateways.setdefault(url, {})
        self.files = self.mine.setdefault("files", {})
        # Other agents' sources as they were when last acknowledged: source -> its state as text.
        self.agent_sources = self.mine.setdefault("agent_sources", {})

    @property
    def since(self):
        return self.mine.get("since")

    def start(self, now_ms: int) -> None:
        self.mine.setdefault("since", now_ms)

    def cursor(self, path: str, st: os.stat_result) -> int:
        saved = self.files.get(path)
        if not isinstance(saved, dict) or saved.get("ino") != st.st_ino:
            return 0
        offset = saved.get("offset", 0)
        # A file shorter than the cursor was replaced or truncated: read it again from the start.
        return offset if isinstance(offset, int) and 0 <= offset <= st.st_size else 0

    def advance(self, path: str, ino: int, offset: int) -> None:
        self.files[path] = {"ino": ino, "offset": offset}

    def save(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        temp = f"{self.path}.{os.getpid()}.tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle)
        os.replace(temp, self.path)


def log_files(bases: list) -> list:
    """Every log file, in ccusage 20's order (and the bridge's): by path — the copy of a request
    that ccusage counts among equal lines (the first it reads) is the one pushed first."""
    found = []
    for base in bases:
        for root, dirs, files in os.walk(base):
            for name in files:
                if name.endswith(".jsonl"):
                    found.append(os.path.join(root, name))
    return sorted(found)


def sendable(entry: dict) -> bool:
    """Whether the gateway would take this entry (its limits); else it is skipped, not sent."""
    counts = (entry["input_tokens"], entry["output_tokens"], entry["cache_creation_tokens"], entry["cache_read_tokens"],
              entry.get("cache_creation_1h_tokens", 0), entry.get("reasoning_tokens", 0), entry.get("extra_tokens", 0))
    if any(c < 0 or c > MAX_TOKENS for c in counts):
        return False
    if "cost_usd" in entry and not 0 <= entry["cost_usd"] <= MAX_COST:
        return False
    if not MIN_TS <= entry["ts"] <= time.time() * 1000 + MAX_AHEAD_MS:
        return False
    for name, limit in FIELD_LIMITS.items():
        value = entry.get(name)
        if value is not None and (len(value) > limit or not PRINTABLE.match(value)):
            return False
    return True


PRICE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pricing.json")


def agent_store(args: argparse.Namespace) -> AgentStore:
    """Other agents' data on this machine, read."""

    def folders(given):
        return None if given is None else [os.path.abspath(os.path.expanduser(d)) for d in given]

    store = AgentStore(AgentPrices.from_file(PRICE_FILE), folders(args.codex_home), folders(args.gemini_dir),
                       folders(args.opencode_dir), folders(args.amp_dir))
    store.refresh()
    return store


#: Codex's windows by their length (minutes), as the gateway names them.
CODEX_WINDOWS = {300: "five_hour", 10080: "seven_day"}


def agent_limits(store: AgentStore) -> list:
    """Codex's official windows as this machine's rollouts last reported them (the push's `limits`)."""
    found = []
    for snapshot in store.codex_limits():
        at = parse_iso_ms(snapshot["observed_at"])
        for part in (snapshot.get("primary"), snapshot.get("secondary")):
            window = CODEX_WINDOWS.get(part.get("window_minutes")) if part else None
            if window and part.get("resets_at") and at is not None and 1_500_000_000 <= part["resets_at"] <= 4_000_000_000:
                found.append({"agent": "codex", "window": window, "observed_at": at, "resets_at": part["resets_at"],
                              "used_percentage": min(100.0, max(0.0, part["used_percent"]))})
    return found[:8]


def agent_entries(store: AgentStore, args: argparse.Namespace, state: "State", since, counters: dict):
    """Other agents' entries to send: (entry or None, source, its state) — None marks a source's
    end (its state is saved once the batch holding its entries is acknowledged)."""
    counters["malformed"] += store.bad_lines
    for agent, source, mark, place, events in store.sources():
        if not args.all and state.agent_sources.get(source) == mark:
            continue
        counters["files"] += 1
        for event, key in events:
            if since is not None and event.ts < since:
                continue
            entry = {
                "agent": agent,
                "event_key": key,
                "ts": event.ts, "model": event.model, "input_tokens": event.inp, "output_tokens": event.out,
                "cache_creation_tokens": event.cache_create, "cache_read_tokens": event.cache_read,
                "reasoning_tokens": event.reasoning, "extra_tokens": event.extra, "cost_usd": event.cost,
                "session_id": event.session, "project_path": place or agent, "project": agent,
            }
            if not sendable(entry):
                counters["skipped"] += 1
                continue
            yield entry, source, mark
        yield None, source, mark


def entries_of(path: str, offset: int, bases: list, since, counters: dict):
    """(entry, end offset of its line, its rank) for each usage line after `offset`; last,
    (None, consumed, None). The rank compares lines of one request (parse.better)."""
    project, project_path, session_id = place_of(path, bases)
    relative = path
    for base in bases:
        rel = os.path.relpath(path, base)
        if not rel.startswith(".."):
            relative = rel.replace(os.sep, "/")
            break
    position = offset
    for _, block in line_blocks(path, offset):
        if block is None:
            continue
        for line in block.split(b"\n"):
            start = position
            position += len(line) + 1
            if b'"usage"' not in line or refused_null(line):
                continue
            try:
                obj = json.loads(line)
                usage = read_usage(obj) if isinstance(obj, dict) else None
            except (ValueError, RecursionError, OverflowError, TypeError, MemoryError):
                counters["malformed"] += 1
                continue
            if usage is None:
                continue
            ms, model, fast, inp, out, cc, cr, cost, message_id, request_id, cc_1h, side, has_speed = usage
            if since is not None and ms < since:
                continue
            entry = {
                "ts": ms, "model": model, "input_tokens": inp, "output_tokens": out,
                "cache_creation_tokens": cc, "cache_read_tokens": cr, "session_id": session_id,
                "project_path": project_path, "project": project, "claude_session": session_id,
                "file": relative, "offset": start,
            }
            if fast:
                entry["speed"] = "fast"
            if cc_1h:
                entry["cache_creation_1h_tokens"] = cc_1h
            if cost is not None:
                entry["cost_usd"] = cost
            if message_id:
                entry["message_id"] = message_id
            if request_id:
                entry["request_id"] = request_id
            if side:
                entry["sidechain"] = True
            if not sendable(entry):
                counters["skipped"] += 1
                continue
            yield entry, position, (side, inp + out + cc + cr, has_speed)
    # A last line without its newline is not consumed: it is read again, whole, next time.
    yield None, position, None


class Requests:
    """The lines of one push, counted by ccusage 20's rules before they are sent: per request
    (message id + request id, or message id alone) the best line (parse.better); a side-chain
    replay of a message whose main-chain line this push sends is left out. A better line of a
    request already sent goes too: the gateway replaces the row."""

    def __init__(self) -> None:
        self.best: dict = {}
        self.main_messages: set = set()
        # Offsets of a message-without-requestId's lines per file: its entry names them, so that
        # rows stored under earlier rules at those places leave.
        self.places: dict = {}

    def offer(self, entry: dict, rank: tuple, counters: dict):
        """'new', 'better' (replaces an earlier line of the push) or None (left out)."""
        message_id = entry.get("message_id")
        if not message_id:
            return "new"
        side = rank[0]
        if side and message_id in self.main_messages:
            counters["repeated"] += 1
            return None
        if not side:
            self.main_messages.add(message_id)
        key = (message_id, entry.get("request_id"))
        if "request_id" not in entry:
            offsets = self.places.setdefault((key, entry["file"]), [])
            earlier = [o for o in offsets if o != entry["offset"]][-MAX_EARLIER_OFFSETS:]
            if earlier:
                entry["earlier_offsets"] = earlier
            offsets.append(entry["offset"])
        held = self.best.get(key)
        if held is not None:
            verdict = better(*rank, *held)
            if not verdict:
                counters["repeated"] += 1
                return None
        self.best[key] = rank
        return "new" if held is None else "better"


class Gateway:
    def __init__(self, args: argparse.Namespace):
        self.url = args.url.rstrip("/") + "/api/usage/entries"
        self.machine = args.machine
        self.timeout = args.timeout
        self.retries = args.retries
        self.headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
                        "User-Agent": "usage-gateway-push"}
        token = getattr(args, "token", "")
        api_key = getattr(args, "api_key", "")
        # Both when both are set, as the hook sender and the status line send them: the gateway
        # takes a member token first (so the lines are that member's), then the key.
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if api_key:
            self.headers["X-API-Key"] = api_key
        self.totals = {"received": 0, "accepted": 0, "duplicates": 0, "superseded": 0}

    def send(self, entries: list, limits: Optional[list] = None) -> None:
        message = {"machine": self.machine, "entries": entries}
        if limits:
            message["limits"] = limits
        body = gzip.compress(json.dumps(message).encode(), 6)
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    answer = json.loads(response.read() or b"{}")
                for name in self.totals:
                    self.totals[name] += int(answer.get(name, 0))
                return
            except urllib.error.HTTPError as error:
                detail = _problem_detail(error)
                if error.code in (429, 503) and attempt < self.retries:
                    time.sleep(min(_retry_after(error), 30))
                    continue
                raise Refused(f"the gateway answered {error.code}: {detail}")
            except (urllib.error.URLError, OSError, ValueError) as error:
                reason = getattr(error, "reason", error)
                raise Refused(f"could not reach {self.url}: {reason}")


class StdioGateway:
    """The gateway that spawned this push (its own machine's logs): a batch is one JSON line on
    stdout; the answer, one line on stdin, is the gateway's result or `{"error": …}`."""

    def __init__(self, args: argparse.Namespace):
        self.machine = args.machine
        self.totals = {"received": 0, "accepted": 0, "duplicates": 0, "superseded": 0}

    def send(self, entries: list, limits: Optional[list] = None) -> None:
        # (The gateway reads its own machine's official windows from its bridge.)
        sys.stdout.write(json.dumps({"machine": self.machine, "entries": entries}) + "\n")
        sys.stdout.flush()
        line = sys.stdin.readline()
        try:
            answer = json.loads(line)
        except ValueError:
            raise Refused("the gateway gave no answer")
        if not isinstance(answer, dict) or "error" in answer:
            raise Refused(f"the gateway refused the batch: {answer.get('error') if isinstance(answer, dict) else answer}")
        for name in self.totals:
            self.totals[name] += int(answer.get(name, 0))


def _problem_detail(error: urllib.error.HTTPError) -> str:
    try:
        problem = json.loads(error.read() or b"{}")
        detail = problem.get("detail") or error.reason
        bad = problem.get("errors") or []
        if bad:
            detail += " (" + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in bad[:5]) + ")"
        return str(detail)
    except (ValueError, AttributeError, OSError):
        return str(error.reason)


def _retry_after(error: urllib.error.HTTPError) -> float:
    try:
        return max(1.0, float(error.headers.get("Retry-After", "5")))
    except (TypeError, ValueError):
        return 5.0


def push(args: argparse.Namespace, out=sys.stdout) -> int:
    os.makedirs(args.state_dir, exist_ok=True)
    lock = open(os.path.join(args.state_dir, LOCK_FILE), "a+")
    try:
        import fcntl

        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:
        pass
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            if not args.quiet:
                out.write("usage-push: another push is running; it sends these lines too\n")
            return 0
        raise
    try:
        return _push_locked(args, out)
    finally:
        lock.close()


def _push_locked(args: argparse.Namespace, out) -> int:
    state = State(args.state_dir, args.url.rstrip("/"))
    # New lines are those written since `install --push` (its mark), else since the first push.
    started = int(time.time() * 1000)
    try:
        with open(os.path.join(args.state_dir, "push.json"), "r", encoding="utf-8") as handle:
            enabled = json.load(handle).get("enabled_at")
        if isinstance(enabled, int) and 0 < enabled < started:
            started = enabled
    except (OSError, ValueError, AttributeError):
        pass
    state.start(started)
    bases = [os.path.join(d, "projects") for d in (args.data_dir or default_data_dirs())]
    files = [os.path.abspath(f) for f in args.file] if args.file else log_files(bases)
    since = None if args.all else state.since
    gateway = StdioGateway(args) if args.stdio else Gateway(args)
    counters = {"malformed": 0, "repeated": 0, "skipped": 0, "files": 0}
    requests = Requests()
    batch: list = []
    # A request's entry in the batch not sent yet: a better line takes its place there.
    in_batch: dict = {}
    # Cursor moves that wait for the batch holding their lines: (path, inode, offset); and other
    # agents' sources sent whole: (source, its state).
    waiting: list = []
    sources_done: list = []
    # Codex's official windows, sent with the last batch when they changed since last sent.
    limits: list = []

    def flush(final: bool = False) -> None:
        if batch or (final and limits):
            if final and limits:
                gateway.send(batch, limits)
            else:
                gateway.send(batch)
            batch.clear()
            in_batch.clear()
            if final and limits:
                state.mine["limits"] = limits
        for path, ino, offset in waiting:
            state.advance(path, ino, offset)
        waiting.clear()
        for source, mark in sources_done:
            state.agent_sources[source] = mark
        sources_done.clear()
        state.save()

    try:
        for path in files:
            try:
                st = os.stat(path)
            except OSError:
                continue
            offset = 0 if args.all else state.cursor(path, st)
            if offset == st.st_size:
                continue
            counters["files"] += 1
            for entry, end, rank in entries_of(path, offset, bases, since, counters):
                if entry is None:
                    waiting.append((path, st.st_ino, end))
                    break
                verdict = requests.offer(entry, rank, counters)
                if verdict is None:
                    continue
                key = (entry.get("message_id"), entry.get("request_id"))
                if verdict == "better" and key in in_batch:
                    batch[in_batch[key]] = entry
                    continue
                if entry.get("message_id"):
                    in_batch[key] = len(batch)
                batch.append(entry)
                if len(batch) >= args.batch:
                    waiting.append((path, st.st_ino, end))
                    flush()
        if not args.file:
            store = agent_store(args)
            for entry, source, mark in agent_entries(store, args, state, since, counters):
                if entry is None:
                    sources_done.append((source, mark))
                    continue
                batch.append(entry)
                if len(batch) >= args.batch:
                    flush()
            found = agent_limits(store)
            if not args.stdio and found and found != state.mine.get("limits"):
                limits.extend(found)
        flush(final=True)
    except Refused as error:
        sys.stderr.write(f"usage-push: {error}; nothing is lost: run it again\n")
        return 1
    except OSError as error:
        sys.stderr.write(f"usage-push: {error}\n")
        return 1
    if not args.quiet and not args.stdio:
        t = gateway.totals
        out.write(
            f"usage-push: {t['received']} entries from {counters['files']} files to {args.url} "
            f"as {args.machine}: {t['accepted']} new, {t['duplicates']} already there"
            + (f", {counters['skipped']} beyond the gateway's limits" if counters["skipped"] else "")
            + "\n"
        )
    return 0


def main(argv=None) -> int:
    return push(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
