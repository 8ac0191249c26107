"""Parsing of usage-log bytes into compact columns: a pure function of (file, offset), so the same
code reads appended bytes in-process and whole files in worker processes on a cold scan."""

import json
import os
import re
from array import array
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Dict, Iterator, List, Optional, Tuple

from .pricing import PriceTable
from .timeparse import parse_iso_ms

READ_CHUNK = 8 * 1024 * 1024
NO_KEY = 0
#: Entry flags: a side-chain line (`isSidechain: true`, e.g. a `/btw` replay), a line with `speed`.
SIDECHAIN = 1
HAS_SPEED = 2
_LIMIT_RESET = re.compile(r"usage limit reached\|(\d{9,11})", re.IGNORECASE)
# Claude Code writes compact JSON with the message id first: finding the ids and the usage object
# with bytes.find (no regex, no parsing) lets the frequent repeated lines — one per content block,
# the same usage — be skipped at a fraction of the cost of json.loads.
_MESSAGE_ID = b'"message":{"id":"'
# (the request id stands near the line's end: a regex finds it faster than bytes.find)
_REQUEST_ID = re.compile(rb'"requestId":"([^"\\]+)"')
_USAGE = b'"usage":{'
_TIMESTAMP = b'"timestamp":"'
_NULL = b'":null'
#: Fields ccusage 20 refuses a line for when they are null anywhere in it (its schema's
#: non-nullable fields, found by a byte scan before parsing).
NULL_FIELDS = frozenset(
    (b"id", b"cwd", b"model", b"speed", b"costUSD", b"version", b"sessionId", b"requestId",
     b"isApiErrorMessage", b"cache_read_input_tokens", b"cache_creation_input_tokens")
)


def refused_null(line: bytes) -> bool:
    """Whether one of NULL_FIELDS is `null` somewhere in the line (as ccusage 20 scans it)."""
    at = line.find(_NULL)
    while at >= 0:
        start = line.rfind(b'"', 0, at)
        if start >= 0 and line[start + 1 : at] in NULL_FIELDS:
            return True
        at = line.find(_NULL, at + 6)
    return False


def _quoted(line: bytes, marker: bytes) -> Optional[bytes]:
    """The string value right after `marker` (which ends with its opening quote), or None."""
    at = line.find(marker)
    if at < 0:
        return None
    start = at + len(marker)
    end = line.find(b'"', start)
    if end < 0 or line.find(b"\\", start, end) >= 0:
        return None
    return line[start:end]


def usage_bytes(line: bytes) -> Optional[bytes]:
    """The bytes of the line's `usage` object (its nested objects included), or None."""
    at = line.find(_USAGE)
    if at < 0:
        return None
    return object_bytes(line, at + len(_USAGE) - 1)


def object_bytes(line: bytes, begin: int) -> Optional[bytes]:
    """The bytes of the JSON object whose `{` is at `begin` (its nested objects included; no
    string inside may hold a brace: usage objects hold numbers), or None."""
    depth, i = 1, begin + 1
    while depth:
        close = line.find(b"}", i)
        if close < 0:
            return None
        depth += line.count(b"{", i, close) - 1
        i = close + 1
    return line[begin:i]


_SEMVER_PREFIX = re.compile(r"\d+\.\d+\.\d")


def default_data_dirs() -> List[str]:
    """CLAUDE_CONFIG_DIR (comma list), else both ~/.config/claude and ~/.claude (docs/design.md §6)."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        return [os.path.expanduser(p.strip()) for p in configured.split(",") if p.strip()]
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return [os.path.join(xdg, "claude"), os.path.join(os.path.expanduser("~"), ".claude")]


def line_blocks(path: str, offset: int) -> Iterator[Tuple[int, Optional[bytes]]]:
    """Reads `path` from `offset` in READ_CHUNK pieces: (bytes read, the complete lines they
    finished, without the last newline — None when none). A last line without its newline is not
    handed out: it is read again, whole, next time."""
    carry = b""
    with open(path, "rb") as handle:
        handle.seek(offset)
        while True:
            chunk = handle.read(READ_CHUNK)
            if not chunk:
                return
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                yield len(chunk), None
                continue
            carry = data[cut + 1 :]
            yield len(chunk), data[:cut]


def dedupe_key(message_id: str, request_id: Optional[str]) -> int:
    """64-bit key of a `message.id` + `requestId` pair, or of a `message.id` alone when the line has
    no `requestId` (never NO_KEY)."""
    text = f"{message_id}:{request_id}" if request_id is not None else f"{message_id}:"
    key = int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "little")
    return key or 1


def message_key(message_id: str) -> int:
    """64-bit key of a `message.id` alone (what a side-chain replay is matched on)."""
    key = int.from_bytes(blake2b(f"m:{message_id}".encode(), digest_size=8).digest(), "little")
    return key or 1


def project_of(path: str) -> str:
    """The project of a log file: the segment right after `projects/` (ccusage's rule, which for a
    file lying directly in `projects/` is the file's own name)."""
    parts = path.replace("\\", "/").split("/")
    if "projects" not in parts:
        return "unknown"
    at = len(parts) - 1 - parts[::-1].index("projects")
    name = parts[at + 1] if at + 1 < len(parts) else ""
    return name if name.strip() else "unknown"


def place_of(path: str, bases: List[str]) -> Tuple[str, str, str]:
    """Where a log file's entries count, from its path relative to the `projects/` folder (of
    `bases`) that holds it: (project, project path, session id) — ccusage 20's rules:
    - project: the folder right under `projects/` (project_of);
    - the session is Claude Code's: `projects/<project>/<uuid>.jsonl` is session `<uuid>` of
      project path `<project>`; a sub-agent's `…/<uuid>/subagents/<agent>.jsonl` counts in session
      `<uuid>`; any other file in the file's folder, the folders above it its project path
      ("Unknown Project" when there are none)."""
    parts: List[str] = []
    for base in bases:
        relative = os.path.relpath(path, base)
        if not relative.startswith(".."):
            parts = relative.split(os.sep)
            break
    if not parts:
        parts = [os.path.basename(path)]
    stem = parts[-1][: -len(".jsonl")] if parts[-1].endswith(".jsonl") else ""
    if len(parts) == 2 and stem:
        return project_of(path), parts[0], stem
    if len(parts) >= 4 and parts[-2] == "subagents":
        return project_of(path), os.sep.join(parts[:-3]) or "Unknown Project", parts[-3]
    session_id = parts[-2] if len(parts) >= 2 else parts[0]
    project_path = os.sep.join(parts[:-2]) if len(parts) > 2 else "Unknown Project"
    return project_of(path), project_path, session_id


def _is_count(value: object) -> bool:
    """A token count as ccusage's schema takes it: a whole number ≥ 0 (not a float, not a bool)."""
    return type(value) is int and value >= 0


@dataclass
class Parsed:
    """Candidate entries of one read (one per key: the best line of the read), in line order, with
    what the store needs to merge them."""

    keys: array = field(default_factory=lambda: array("Q"))
    messages: array = field(default_factory=lambda: array("Q"))
    flags: array = field(default_factory=lambda: array("b"))
    offsets: array = field(default_factory=lambda: array("q"))
    ts: array = field(default_factory=lambda: array("q"))
    inp: array = field(default_factory=lambda: array("q"))
    out: array = field(default_factory=lambda: array("q"))
    cache_create: array = field(default_factory=lambda: array("q"))
    cache_read: array = field(default_factory=lambda: array("q"))
    cost: array = field(default_factory=lambda: array("d"))
    model: array = field(default_factory=lambda: array("i"))
    models: List[str] = field(default_factory=list)
    malformed: int = 0
    duplicates: int = 0
    limit_resets_at_ms: Optional[int] = None
    bytes_read: int = 0
    consumed: int = 0


def better(side_a: bool, total_a: int, speed_a: bool, side_b: bool, total_b: int, speed_b: bool) -> Optional[bool]:
    """ccusage 20's choice between two lines of one key: whether line a is kept over line b, or
    None when neither wins (then the earlier one in ccusage's reading order is kept). The main
    chain beats a side-chain replay; then the larger token total (the billed line of a streamed
    message beats its partial ones); then the line that has `speed`."""
    if side_a != side_b:
        return side_b
    if total_a != total_b:
        return total_a > total_b
    if speed_a != speed_b:
        return speed_a
    return None


class Parser:
    """Turns complete lines into candidate entries, the best line per key within the read (a later
    line replaces an earlier one only when `better`). Whether a candidate counts is the store's
    decision, against what it holds already."""

    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self.result = Parsed()
        self._model_index: Dict[str, int] = {}
        # key -> index in `result`, that candidate's line and (once asked for) its usage's bytes.
        self._index: Dict[int, int] = {}
        self._lines: Dict[int, bytes] = {}
        self._usage_bytes: Dict[int, bytes] = {}
        # key -> (its message key, its model) as its first line said.
        self._message_model: Dict[int, Tuple[int, str]] = {}
        self._offset = 0

    def read_file(self, path: str, offset: int) -> Tuple[int, int]:
        """Parses complete lines from `offset`; returns (bytes read, bytes consumed). A last line
        without its newline is not consumed: it is read again, whole, next time."""
        read = consumed = 0
        self._offset = offset
        for size, block in line_blocks(path, offset):
            read += size
            if block is not None:
                self.lines(block)
                consumed += len(block) + 1
        self.result.bytes_read += read
        self.result.consumed += consumed
        return read, consumed

    def lines(self, block: bytes) -> None:
        result, index, known_usage, lines_of = self.result, self._index, self._usage_bytes, self._lines
        offset = self._offset
        for line in block.split(b"\n"):
            start = offset
            offset += len(line) + 1
            if b'"usage"' not in line:
                if line[:1] != b"{" or line[-1:] != b"}":
                    stripped = line.strip()
                    if stripped and not (stripped.startswith(b"{") and stripped.endswith(b"}")):
                        result.malformed += 1
                continue
            key = NO_KEY
            message_id = _quoted(line, _MESSAGE_ID)
            if message_id is not None:
                r = _REQUEST_ID.search(line)
                key = dedupe_key(message_id.decode(), r.group(1).decode() if r is not None else None)
                held = index.get(key)
                # The same usage as the read's candidate of this key: a tie, which the earlier
                # line wins (unless the earlier is a side-chain replay and this is not).
                if held is not None:
                    known = known_usage.get(key)
                    if known is None:
                        known = known_usage[key] = usage_bytes(lines_of[key]) or b""
                    usage = usage_bytes(line)
                    if usage == known and (not result.flags[held] & SIDECHAIN or b'"isSidechain":true' in line):
                        result.duplicates += 1
                        continue
                    try:
                        if self._another_line(key, line, start, usage):
                            continue
                    except (ValueError, RecursionError, OverflowError, TypeError, MemoryError):
                        result.malformed += 1
                        continue
            # One line, whatever it holds (a document nested 100,000 deep raises RecursionError,
            # an absurd number OverflowError), is skipped and counted — never the whole refresh.
            try:
                if refused_null(line):
                    continue
                obj = json.loads(line)
                if isinstance(obj, dict):
                    self._add(obj, start, line, key)
            except (ValueError, RecursionError, OverflowError, TypeError, MemoryError):
                result.malformed += 1
        self._offset = offset

    def _add(self, obj: dict, offset: int, line: bytes, found_key: int = NO_KEY) -> None:
        """One parsed line; `found_key`: its key as the fast path read it (NO_KEY: work it out)."""
        usage = read_usage(obj)
        if usage is None:
            return
        ms, model, fast, inp, out, cc, cr, cost_field, message_id, request_id, cc_1h, side, has_speed = usage
        if obj.get("isApiErrorMessage"):
            result = self.result
            reset = _limit_reset_ms(obj["message"])
            if reset is not None and (result.limit_resets_at_ms is None or reset > result.limit_resets_at_ms):
                result.limit_resets_at_ms = reset
        key = message = NO_KEY
        if message_id:
            key = found_key if found_key != NO_KEY else dedupe_key(message_id, request_id)
            message = message_key(message_id)
        self._take(key, message, line, offset, ms, model, fast, inp, out, cc, cr, cc_1h, cost_field, side, has_speed)

    def _take(self, key: int, message: int, line: bytes, offset: int, ms: int, model: str, fast: bool,
              inp: int, out: int, cc: int, cr: int, cc_1h: int, cost_field: Optional[float], side: bool,
              has_speed: bool) -> None:
        """A line's entry: a new candidate, or in place of the read's candidate of its key when it
        is the better line, or left out."""
        result = self.result
        flags = (SIDECHAIN if side else 0) | (HAS_SPEED if has_speed else 0)
        slot = None
        if key != NO_KEY:
            slot = self._index.get(key)
            if slot is not None:
                held = result.flags[slot]
                held_total = result.inp[slot] + result.out[slot] + result.cache_create[slot] + result.cache_read[slot]
                result.duplicates += 1
                if not better(side, inp + out + cc + cr, has_speed, bool(held & SIDECHAIN), held_total, bool(held & HAS_SPEED)):
                    return
            else:
                self._message_model[key] = (message, model)
            # Its usage bytes are read from it when another line of the key comes.
            self._lines[key] = line
            self._usage_bytes.pop(key, None)
        if cost_field is not None:
            cost = cost_field
        else:
            cost = self.prices.cost(model, inp, out, cc - cc_1h, cr, cc_1h)
            if fast:
                cost *= self.prices.fast_multiplier(model)
        model = reported_model(model, fast)
        model_index = self._model_index.get(model)
        if model_index is None:
            model_index = self._model_index[model] = len(result.models)
            result.models.append(model)
        if slot is not None:
            # A better line of a key this read already holds: it takes the candidate's place.
            result.flags[slot] = flags
            result.offsets[slot] = offset
            result.ts[slot] = ms
            result.inp[slot] = inp
            result.out[slot] = out
            result.cache_create[slot] = cc
            result.cache_read[slot] = cr
            result.cost[slot] = cost
            result.model[slot] = model_index
            return
        if key != NO_KEY:
            self._index[key] = len(result.keys)
        result.keys.append(key)
        result.messages.append(message)
        result.flags.append(flags)
        result.offsets.append(offset)
        result.ts.append(ms)
        result.inp.append(inp)
        result.out.append(out)
        result.cache_create.append(cc)
        result.cache_read.append(cr)
        result.cost.append(cost)
        result.model.append(model_index)

    def _another_line(self, key: int, line: bytes, offset: int, usage: Optional[bytes]) -> bool:
        """A later line of a key this read holds, with other usage (a streamed message's next
        content block): read from its usage object and timestamp alone — its message, model and
        the rest are its request's — unless it has anything else that counts (`costUSD`, an
        API-error mark, a null ccusage refuses, more than one timestamp). False: parse it whole."""
        if (
            usage is None
            or b'"costUSD"' in line
            or b'"isApiErrorMessage"' in line
            or line.count(_TIMESTAMP) != 1
            or refused_null(line)
        ):
            return False
        try:
            parsed = json.loads(usage)
        except ValueError:
            return False
        counts = usage_counts(parsed) if type(parsed) is dict else None
        stamp = _quoted(line, _TIMESTAMP)
        ms = parse_iso_ms(stamp.decode("utf-8", "replace")) if stamp is not None else None
        if counts is None or ms is None:
            return False
        inp, out, cc, cr, cc_1h, fast, has_speed = counts
        message, model = self._message_model[key]
        side = b'"isSidechain":true' in line
        self._take(key, message, line, offset, ms, model, fast, inp, out, cc, cr, cc_1h, None, side, has_speed)
        return True


#: What one log line says of an API request, by ccusage 20's rules — the one reading of a line,
#: used by the bridge's store and the push client alike: (epoch ms, model, fast, input, output,
#: cache creation (5-minute + 1-hour writes), cache read, the line's own `costUSD` (ccusage uses it
#: instead of the price table) or None, message id or None, request id or None, 1-hour cache
#: writes, side chain, has `speed`). A plain tuple: this runs once per line of a scan.
Usage = Tuple[int, str, bool, int, int, int, int, Optional[float], Optional[str], Optional[str], int, bool, bool]

_VERSIONS: Dict[str, bool] = {}


def _version_ok(version: object) -> bool:
    """A `version` ccusage 20 takes: absent, or a string starting x.y.z (few distinct: cached)."""
    if version is None:
        return True
    ok = _VERSIONS.get(version) if isinstance(version, str) else False
    if ok is None:
        ok = _VERSIONS[version] = _SEMVER_PREFIX.match(version) is not None  # type: ignore[index]
    return bool(ok)


def read_usage(obj: dict) -> Optional[Usage]:
    """The usage of a parsed line, or None when ccusage 20 would skip it: its schema (counts are
    whole numbers ≥ 0; `speed` is "standard" or "fast"; the optional fields have their types) and
    its checks (a `version` that is not x.y.z…, an empty session, request, message id or model)."""
    get = obj.get
    timestamp = get("timestamp")
    message = get("message")
    if type(timestamp) is not str or type(message) is not dict:
        return None
    usage = message.get("usage")
    counts = usage_counts(usage) if type(usage) is dict else None
    if counts is None:
        return None
    inp, out, cc, cr, cc_1h, fast, has_speed = counts
    request_id = get("requestId")
    session = get("sessionId")
    if (request_id is not None and (type(request_id) is not str or not request_id)) or (
        session is not None and (type(session) is not str or not session)
    ):
        return None
    if not _version_ok(get("version")):
        return None
    side = get("isSidechain")
    error = get("isApiErrorMessage")
    if (side is not None and type(side) is not bool) or (error is not None and type(error) is not bool):
        return None
    message_id = message.get("id")
    if message_id is not None and (type(message_id) is not str or not message_id):
        return None
    model = message.get("model")
    if model is not None and (type(model) is not str or not model):
        return None
    cost_field = get("costUSD")
    if cost_field is not None and (type(cost_field) is not float and type(cost_field) is not int):
        return None
    ms = parse_iso_ms(timestamp)
    if ms is None:
        return None
    return (
        ms,
        model if model is not None else NO_MODEL,
        fast,
        inp,
        out,
        cc,
        cr,
        float(cost_field) if cost_field is not None else None,
        message_id,
        request_id,
        cc_1h,
        side is True,
        has_speed,
    )


_ABSENT = object()


def usage_counts(usage: dict) -> Optional[Tuple[int, int, int, int, int, bool, bool]]:
    """A `message.usage` object as ccusage 20's schema reads it: (input, output, cache writes
    (5-minute + 1-hour), cache reads, 1-hour writes, fast, has `speed`), or None when it refuses
    it (counts not whole numbers ≥ 0, a `speed` other than standard or fast)."""
    inp = usage.get("input_tokens")
    out = usage.get("output_tokens")
    cc = usage.get("cache_creation_input_tokens", 0)
    cr = usage.get("cache_read_input_tokens", 0)
    # Whole numbers ≥ 0 (a bool is not one; `type() is int` says so).
    if type(inp) is not int or type(out) is not int or type(cc) is not int or type(cr) is not int:
        return None
    if inp < 0 or out < 0 or cc < 0 or cr < 0:
        return None
    cc_1h = 0
    split = usage.get("cache_creation")
    if split is not None:
        # The split by cache lifetime, when given, is the cache-write count (1-hour writes are
        # priced at twice the input rate).
        if type(split) is not dict:
            return None
        five = split.get("ephemeral_5m_input_tokens", 0)
        hour = split.get("ephemeral_1h_input_tokens", 0)
        if type(five) is not int or type(hour) is not int or five < 0 or hour < 0:
            return None
        cc, cc_1h = five + hour, hour
    fast = has_speed = False
    speed = usage.get("speed", _ABSENT)
    if speed is not _ABSENT:
        if speed != "standard" and speed != "fast":
            return None
        fast = speed == "fast"
        has_speed = True
    return inp, out, cc, cr, cc_1h, fast, has_speed


#: A line without `message.model`: its tokens count, it costs nothing and it is listed under no
#: model (as `<synthetic>`).
NO_MODEL = "<synthetic>"


def reported_model(model: str, fast: bool) -> str:
    """Fast mode is priced and reported apart, as `<model>-fast` (ccusage's display name)."""
    return f"{model}-fast" if fast and model != NO_MODEL else model


def _limit_reset_ms(message: dict) -> Optional[int]:
    content = message.get("content")
    texts: List[object] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        texts.extend(part.get("text", "") for part in content if isinstance(part, dict))
    best = None
    for text in texts:
        match = _LIMIT_RESET.search(text) if isinstance(text, str) else None
        if match:
            reset = int(match.group(1)) * 1000
            best = reset if best is None or reset > best else best
    return best


def parse_files(prices: PriceTable, paths: List[str]) -> List[Parsed]:
    """Worker entry point for a cold scan: each whole file's candidates (the store merges them)."""
    results = []
    for path in paths:
        parser = Parser(prices)
        try:
            parser.read_file(path, 0)
        except OSError:
            pass
        results.append(parser.result)
    return results
