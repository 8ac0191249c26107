"""Parsing of usage-log bytes into compact columns: a pure function of (file, offset), so the same
code reads appended bytes in-process and whole files in worker processes on a cold scan."""

import json
import os
import re
from array import array
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Container, Dict, Iterator, List, Optional, Set, Tuple

from .pricing import PriceTable
from .timeparse import parse_iso_ms

READ_CHUNK = 8 * 1024 * 1024
NO_KEY = 0
_LIMIT_RESET = re.compile(r"usage limit reached\|(\d{9,11})", re.IGNORECASE)
# Claude Code writes compact JSON with the message id first; finding both ids without parsing lets
# the (frequent) repeated lines be skipped at a fraction of the cost of json.loads.
_MESSAGE_ID = re.compile(rb'"message":\{"id":"([^"\\]+)"')
_REQUEST_ID = re.compile(rb'"requestId":"([^"\\]+)"')


def default_data_dirs() -> List[str]:
    """CLAUDE_CONFIG_DIR (comma list), else both ~/.config/claude and ~/.claude (DESIGN.md §6)."""
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


def dedupe_key(message_id: str, request_id: str) -> int:
    """64-bit key of a `message.id` + `requestId` pair (never NO_KEY)."""
    key = int.from_bytes(blake2b(f"{message_id}:{request_id}".encode(), digest_size=8).digest(), "little")
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


def place_of(path: str, bases: List[str]) -> Tuple[str, str, str, Optional[str]]:
    """Where a log file's entries count, from its path relative to the `projects/` folder (of
    `bases`) that holds it: (project, project path, session id, Claude Code's session).
    - project: the folder right under `projects/` (project_of: ccusage's rule);
    - session as `ccusage session` names it: the session id is the file's folder, the project path
      the folders between `projects/` and it ("Unknown Project" when none) — so for Claude Code's
      `projects/<project>/<uuid>.jsonl` the session is the project folder, and a subagent's file
      belongs to `<project>/<uuid>`, session `subagents`;
    - Claude Code's session: `<uuid>` of `projects/<project>/<uuid>.jsonl`, or of a subagent's
      `projects/<project>/<uuid>/subagents/<agent>.jsonl` (its cost is the session's too)."""
    parts: List[str] = []
    for base in bases:
        relative = os.path.relpath(path, base)
        if not relative.startswith(".."):
            parts = relative.split(os.sep)
            break
    session_id = parts[-2] if len(parts) >= 2 else "unknown"
    project_path = os.sep.join(parts[:-2]) or "Unknown Project"
    claude = None
    if len(parts) == 2:
        claude = parts[1][: -len(".jsonl")]
    elif len(parts) > 2:
        claude = parts[1]
    return project_of(path), project_path, session_id, claude


def _is_count(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class Parsed:
    """Entries of one read, in line order, with what the store needs to merge them."""

    keys: array = field(default_factory=lambda: array("Q"))
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


class Parser:
    """Turns complete lines into entries. `seen` holds keys already stored elsewhere; keys accepted
    here are remembered too, so a line repeated within the same read is skipped before json.loads."""

    def __init__(self, prices: PriceTable, seen: Container[int]) -> None:
        self.prices = prices
        self.seen = seen
        self.accepted: Set[int] = set()
        self.result = Parsed()
        self._model_index: Dict[str, int] = {}

    def read_file(self, path: str, offset: int) -> Tuple[int, int]:
        """Parses complete lines from `offset`; returns (bytes read, bytes consumed). A last line
        without its newline is not consumed: it is read again, whole, next time."""
        read = consumed = 0
        for size, block in line_blocks(path, offset):
            read += size
            if block is not None:
                self.lines(block)
                consumed += len(block) + 1
        self.result.bytes_read += read
        self.result.consumed += consumed
        return read, consumed

    def lines(self, block: bytes) -> None:
        seen, accepted, result = self.seen, self.accepted, self.result
        message_id_re, request_id_re = _MESSAGE_ID, _REQUEST_ID
        for line in block.split(b"\n"):
            if b'"usage"' not in line:
                stripped = line.strip()
                if stripped and not (stripped.startswith(b"{") and stripped.endswith(b"}")):
                    result.malformed += 1
                continue
            m = message_id_re.search(line)
            if m is not None:
                r = request_id_re.search(line)
                if r is not None:
                    key = dedupe_key(m.group(1).decode(), r.group(1).decode())
                    if key in accepted or key in seen:
                        result.duplicates += 1
                        continue
            # One line, whatever it holds (a document nested 100,000 deep raises RecursionError,
            # an absurd number OverflowError), is skipped and counted — never the whole refresh.
            try:
                obj = json.loads(line)
                if isinstance(obj, dict):
                    self._add(obj)
            except (ValueError, RecursionError, OverflowError, TypeError, MemoryError):
                result.malformed += 1

    def _add(self, obj: dict) -> None:
        usage = read_usage(obj)
        if usage is None:
            return
        ms, model, fast, inp, out, cc, cr, cost_field, message_id, request_id = usage
        key = NO_KEY
        if message_id and request_id:
            key = dedupe_key(message_id, request_id)
            if key in self.accepted or key in self.seen:
                self.result.duplicates += 1
                return
            self.accepted.add(key)

        result = self.result
        if obj.get("isApiErrorMessage"):
            reset = _limit_reset_ms(obj["message"])
            if reset is not None and (result.limit_resets_at_ms is None or reset > result.limit_resets_at_ms):
                result.limit_resets_at_ms = reset
        if cost_field is not None:
            cost = cost_field
        else:
            cost = self.prices.cost(model, inp, out, cc, cr)
            if fast:
                cost *= self.prices.fast_multiplier(model)
        model = reported_model(model, fast)
        index = self._model_index.get(model)
        if index is None:
            index = self._model_index[model] = len(result.models)
            result.models.append(model)
        result.keys.append(key)
        result.ts.append(ms)
        result.inp.append(inp)
        result.out.append(out)
        result.cache_create.append(cc)
        result.cache_read.append(cr)
        result.cost.append(cost)
        result.model.append(index)


#: What one log line says of an API request, by ccusage's rules — the one reading of a line, used
#: by the bridge's store and the push client alike: (epoch ms, model, fast, input, output, cache
#: creation, cache read, the line's own `costUSD` (ccusage uses it instead of the price table) or
#: None, message id or None, request id or None). A plain tuple: this runs once per line of a scan.
Usage = Tuple[int, str, bool, int, int, int, int, Optional[float], Optional[str], Optional[str]]


def read_usage(obj: dict) -> Optional[Usage]:
    """The usage of a parsed line, or None when ccusage would skip it."""
    timestamp = obj.get("timestamp")
    message = obj.get("message")
    if not isinstance(timestamp, str) or not isinstance(message, dict):
        return None
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    inp = usage.get("input_tokens")
    out = usage.get("output_tokens")
    if not _is_count(inp) or not _is_count(out):
        return None
    cc = usage.get("cache_creation_input_tokens", 0)
    cr = usage.get("cache_read_input_tokens", 0)
    cc = 0 if cc is None else cc
    cr = 0 if cr is None else cr
    if not _is_count(cc) or not _is_count(cr):
        return None
    # ccusage's schema takes `speed` as "standard" or "fast" only; any other value (null too)
    # makes it skip the line.
    fast = False
    if "speed" in usage:
        speed = usage["speed"]
        if speed not in ("standard", "fast"):
            return None
        fast = speed == "fast"
    ms = parse_iso_ms(timestamp)
    if ms is None:
        return None
    message_id = message.get("id")
    request_id = obj.get("requestId")
    model = message.get("model")
    if not isinstance(model, str) or not model:
        model = "unknown"
    cost_field = obj.get("costUSD")
    return (
        ms,
        model,
        fast,
        int(inp),
        int(out),
        int(cc),
        int(cr),
        float(cost_field) if _is_count(cost_field) else None,
        message_id if isinstance(message_id, str) and message_id else None,
        request_id if isinstance(request_id, str) and request_id else None,
    )


def reported_model(model: str, fast: bool) -> str:
    """Fast mode is priced and reported apart, as `<model>-fast` (ccusage's display name)."""
    return f"{model}-fast" if fast and model != "unknown" else model


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
    """Worker entry point for a cold scan: whole files, in order, de-duplicated among themselves
    (the first occurrence in this order is also the first in the global order)."""
    # Per project: a line repeated in another project is that project's own when a report is
    # filtered to it (ccusage filters files by project before it de-duplicates); the store decides.
    shared: Dict[str, Set[int]] = {}
    results = []
    for path in paths:
        seen = shared.setdefault(project_of(path), set())
        parser = Parser(prices, seen)
        try:
            parser.read_file(path, 0)
        except OSError:
            pass
        seen |= parser.accepted
        results.append(parser.result)
    return results
