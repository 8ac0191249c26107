"""OpenAI Codex CLI's rollouts, read as ccusage 20's Codex adapter reads them.

Where: every home of `CODEX_HOME` (a comma list; default ~/.codex): its `sessions/` and
`archived_sessions/` (or the home itself when it has neither), every `*.jsonl` below them; a file
in both under the same relative path counts once, the active `sessions/` copy. A session is the
file's path below that folder, without `.jsonl`.

What counts: `event_msg` lines of `payload.type: "token_count"` — `info.last_token_usage`, else the
difference of `info.total_token_usage` from the file's previous total (never below zero); `info`
may be null. Cached input is part of input, reasoning part of output. The model is the token
count's own (`model`, `model_name`, `metadata.model`), else the latest `turn_context`'s, else
`gpt-5`, flagged as a fallback. A sub-agent's rollout (it mentions `thread_spawn` near its start)
that opens by replaying its parent's events — its first two token counts in the same second —
skips them. Forked rollouts repeat their parent's events: across files an event counts once, by
its time, model and figures (within its session for the session report)."""

import json
import os
import re
from typing import Dict, List, Optional, Tuple

from ..files import folders_from_env, walk_files
from ..parse import line_blocks, object_bytes
from ..timeparse import parse_iso_ms
from . import FALLBACK_MODEL, UNPRICED, Event
from .prices import AgentPrices

_TURN_CONTEXT = b'"type":"turn_context"'
_EVENT_MSG = b'"type":"event_msg"'
_TOKEN_COUNT = b'"type":"token_count"'
_SESSION_META = b'"type":"session_meta"'
_THREAD_SPAWN = b"thread_spawn"
_TYPE = b'"type":'
#: The lines a rollout's usage needs (its meta, turn contexts, token counts).
_WANTED = re.compile(rb'"type":"(?:token_count|turn_context|session_meta)"')
_TIMESTAMP = b'"timestamp":"'
_TOTAL = b'"total_token_usage":{'
_LAST = b'"last_token_usage":{'
_INFO_NULL = b'"info":null'
_RATE_LIMITS = b'"rate_limits":{'
#: A token count naming a model (rare) is read whole; the others by their usage objects only.
_MODEL_MARKERS = (b'"model', b'"metadata"')
FALLBACK = "gpt-5"


def homes() -> List[str]:
    return folders_from_env("CODEX_HOME", (".codex",))


def source_dirs(home_list: List[str]) -> List[Tuple[str, str]]:
    """(folder to walk, the home it belongs to), in ccusage's order."""
    found: List[Tuple[str, str]] = []
    seen = set()
    for home in home_list:
        dirs = [d for d in (os.path.join(home, "sessions"), os.path.join(home, "archived_sessions")) if os.path.isdir(d)]
        for folder in dirs or [home]:
            if folder not in seen:
                seen.add(folder)
                found.append((folder, home))
    return found


def walk(home_list: List[str]) -> Dict[str, Tuple[str, os.stat_result]]:
    """Every rollout to read: path -> (its source folder, stat), an archived copy of an active
    rollout left out."""
    files: Dict[str, Tuple[str, os.stat_result]] = {}
    taken = set()
    for folder, home in source_dirs(home_list):
        for path, st in walk_files([folder], ".jsonl").items():
            scope = (home, os.path.relpath(path, folder))
            if scope not in taken:
                taken.add(scope)
                files[path] = (folder, st)
    return files


def session_of(folder: str, path: str) -> str:
    relative = os.path.relpath(path, folder)
    if relative.endswith(".jsonl"):
        relative = relative[: -len(".jsonl")]
    return "/".join(part for part in relative.split(os.sep) if part) or "unknown"


def _count_of(value: object, *names: str) -> Optional[int]:
    """The first of these fields that is a count (ccusage reads numbers, floats truncated)."""
    for name in names:
        v = value.get(name)  # type: ignore[attr-defined]
        if type(v) is int:
            return v if v >= 0 else 0
        if type(v) is float and v == v and v not in (float("inf"), float("-inf")):
            return max(0, int(v))
    return None


def _usage(value: object) -> Optional[Tuple[int, int, int, int, int]]:
    """(input, cached, output, reasoning, total) of a usage object, with ccusage's field aliases.
    Codex's own field names are looked at first, the others only when they are missing."""
    if not isinstance(value, dict):
        return None
    inp = value.get("input_tokens")
    if type(inp) is not int or inp < 0:
        inp = _count_of(value, "input_tokens", "prompt_tokens", "input") or 0
    out = value.get("output_tokens")
    if type(out) is not int or out < 0:
        out = _count_of(value, "output_tokens", "completion_tokens", "output") or 0
    reasoning = value.get("reasoning_output_tokens")
    if type(reasoning) is not int or reasoning < 0:
        reasoning = _count_of(value, "reasoning_output_tokens", "reasoning_tokens") or 0
    cached = value.get("cached_input_tokens")
    if type(cached) is not int or cached < 0:
        cached = _count_of(value, "cached_input_tokens", "cache_read_input_tokens", "cached_tokens") or 0
    total = value.get("total_tokens")
    if type(total) is not int or total < 0:
        total = _count_of(value, "total_tokens")
    if total is None or (total == 0 and inp + out + reasoning > 0):
        total = inp + out + reasoning
    return inp, cached, out, reasoning, total


def _model_of(value: object) -> Optional[str]:
    if not isinstance(value, dict):
        return None
    for name in ("model", "model_name"):
        v = value.get(name)
        if isinstance(v, str) and v.strip():
            return v.strip()
    meta = value.get("metadata")
    v = meta.get("model") if isinstance(meta, dict) else None
    return v.strip() if isinstance(v, str) and v.strip() else None


def _replay_second(path: str) -> Optional[str]:
    """A sub-agent rollout's replayed second: its first two token counts share it."""
    try:
        with open(path, "rb") as handle:
            if _THREAD_SPAWN not in handle.read(16 * 1024):
                return None
            handle.seek(0)
            first = None
            for line in handle:
                if _EVENT_MSG not in line or _TOKEN_COUNT not in line:
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                payload = obj.get("payload") if isinstance(obj, dict) else None
                info = payload.get("info") if isinstance(payload, dict) else None
                if obj.get("type") != "event_msg" or not isinstance(payload, dict) or payload.get("type") != "token_count":
                    continue
                if not isinstance(info, dict) or (info.get("last_token_usage") is None and info.get("total_token_usage") is None):
                    continue
                stamp = obj.get("timestamp")
                if not isinstance(stamp, str) or len(stamp.strip()) < 19:
                    continue
                second = stamp.strip()[:19]
                if first is None:
                    first = second
                    continue
                return second if second == first else None
    except OSError:
        return None
    return None


def _window(value: object, at_ms: int) -> Optional[dict]:
    """One official window (`RateLimitWindow`): its used %, length and reset time (epoch s;
    builds around 0.41 wrote `resets_in_seconds`, relative to the line's time)."""
    if not isinstance(value, dict):
        return None
    used = value.get("used_percent")
    if isinstance(used, bool) or not isinstance(used, (int, float)) or used != used:
        return None
    minutes = value.get("window_minutes")
    resets = value.get("resets_at")
    if isinstance(resets, bool) or not isinstance(resets, (int, float)):
        relative = value.get("resets_in_seconds")
        resets = at_ms / 1000 + relative if isinstance(relative, (int, float)) and not isinstance(relative, bool) else None
    return {
        "used_percent": float(used),
        "window_minutes": int(minutes) if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) else None,
        "resets_at": int(resets) if resets is not None else None,
    }


def _rate_limits(line: bytes) -> Optional[Tuple[int, dict]]:
    """(the line's time, its snapshot) of a token count's `rate_limits` (`RateLimitSnapshot`), or
    None when it has none that can be read."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    limits = obj.get("payload", {}).get("rate_limits") if isinstance(obj, dict) and isinstance(obj.get("payload"), dict) else None
    stamp = obj.get("timestamp") if isinstance(obj, dict) else None
    at = parse_iso_ms(stamp.strip()) if isinstance(stamp, str) else None
    if not isinstance(limits, dict) or at is None:
        return None
    windows = {name: _window(limits.get(name), at) for name in ("primary", "secondary")}
    if not any(windows.values()):
        return None
    limit_id = limits.get("limit_id")
    plan = limits.get("plan_type")
    return at, {
        "limit_id": limit_id if isinstance(limit_id, str) and limit_id else "codex",
        "plan_type": plan if isinstance(plan, str) else None,
        "credits": limits.get("credits") if isinstance(limits.get("credits"), dict) else None,
        **windows,
    }


class CodexFile:
    """One rollout's reading state: read so far (bytes), the running total and model, and the
    events found."""

    def __init__(self, path: str, folder: str) -> None:
        self.path = path
        self.session = session_of(folder, path)
        self.offset = 0
        self.previous: Optional[Tuple[int, int, int, int, int]] = None
        self.model: Optional[str] = None
        self.model_is_fallback = False
        self.replay = _replay_second(path)
        self.skipping = self.replay is not None
        self.events: List[Event] = []
        self.bad_lines = 0
        # Its latest official rate limits (`payload.rate_limits` of its last token count that has
        # them): the line's time and the snapshot (see limits()).
        self.limits: Optional[Tuple[int, dict]] = None
        self._limits_line: Optional[bytes] = None
        # From its session_meta line: its id, the rollout it was forked from, when it started.
        self.id: Optional[str] = None
        self.forked_from: Optional[str] = None
        self.started: Optional[int] = None

    def read(self, prices: AgentPrices) -> int:
        """Reads the complete lines appended since the last read; returns the bytes consumed.
        Only the lines that can matter are looked at — found by their `"type"` in one scan of the
        bytes (most of a rollout is messages and tool output)."""
        consumed = 0
        for size, block in line_blocks(self.path, self.offset):
            if block is None:
                continue
            consumed += len(block) + 1
            after = -1
            for match in _WANTED.finditer(block):
                if match.start() < after:
                    continue
                start = block.rfind(b"\n", 0, match.start()) + 1
                end = block.find(b"\n", match.end())
                after = len(block) if end < 0 else end
                self._line(block[start:after], prices)
        self.offset += consumed
        if self._limits_line is not None:
            self.limits = _rate_limits(self._limits_line) or self.limits
            self._limits_line = None
        return consumed

    def _meta(self, line: bytes) -> None:
        try:
            obj = json.loads(line)
        except ValueError:
            self.bad_lines += 1
            return
        payload = obj.get("payload") if isinstance(obj, dict) else None
        if not isinstance(payload, dict) or obj.get("type") != "session_meta":
            return
        self.id = payload.get("id") if isinstance(payload.get("id"), str) else None
        forked = payload.get("forked_from_id")
        self.forked_from = forked if isinstance(forked, str) and forked else None
        stamp = payload.get("timestamp") or obj.get("timestamp")
        self.started = parse_iso_ms(stamp.strip()) if isinstance(stamp, str) else None

    def _fast(self, line: bytes) -> Optional[tuple]:
        """A plain token count (its first `"type"` the line's, `event_msg`, its second the
        payload's, `token_count`; no model named) read without parsing the line: (timestamp,
        payload info or None), or None when it must be read whole."""
        first = line.find(_TYPE)
        if first < 0 or not line.startswith(b'"event_msg"', first + 7):
            return None
        second = line.find(_TYPE, first + 7)
        if second < 0 or not line.startswith(b'"token_count"', second + 7):
            return None
        if any(marker in line for marker in _MODEL_MARKERS):
            return None
        at = line.find(_TIMESTAMP)
        end = line.find(b'"', at + len(_TIMESTAMP)) if at >= 0 else -1
        if at < 0 or end < 0 or line.find(b"\\", at, end) >= 0:
            return None
        stamp = line[at + len(_TIMESTAMP) : end].decode()
        if _INFO_NULL in line:
            return stamp, None
        info = {}
        for marker, name in ((_TOTAL, "total_token_usage"), (_LAST, "last_token_usage")):
            at = line.find(marker)
            if at >= 0:
                found = object_bytes(line, at + len(marker) - 1)
                if found is None:
                    return None
                info[name] = json.loads(found)
        return stamp, info

    def _line(self, line: bytes, prices: AgentPrices) -> None:
        turn = _TURN_CONTEXT in line
        if _SESSION_META in line and self.id is None:
            self._meta(line)
            return
        if not turn and not (_EVENT_MSG in line and _TOKEN_COUNT in line):
            return
        if not turn and _RATE_LIMITS in line:
            # Only the file's latest snapshot matters: read once the read is done.
            self._limits_line = line
        if not turn:
            try:
                fast = self._fast(line)
            except ValueError:
                fast = None
            if fast is not None:
                self._count(fast[0].strip(), None, fast[1], prices)
                return
        try:
            obj = json.loads(line)
        except ValueError:
            self.bad_lines += 1
            return
        if not isinstance(obj, dict):
            return
        payload = obj.get("payload")
        kind = obj.get("type")
        if kind == "turn_context":
            model = _model_of(payload)
            if model is not None:
                self.model, self.model_is_fallback = model, False
            return
        if kind != "event_msg" or not isinstance(payload, dict) or payload.get("type") != "token_count":
            return
        stamp = obj.get("timestamp")
        stamp = stamp.strip() if isinstance(stamp, str) else ""
        info = payload.get("info") if isinstance(payload.get("info"), dict) else None
        self._count(stamp, payload, info, prices)

    def _count(self, stamp: str, payload: Optional[dict], info: Optional[dict], prices: AgentPrices) -> None:
        """One token_count event (its line's timestamp, payload and payload's info; no payload: a
        count read by _fast, which names no model)."""
        if not stamp:
            return
        total_usage = _usage(info.get("total_token_usage")) if info else None
        if self.skipping:
            if stamp[:19] == self.replay:
                if total_usage is not None:
                    self.previous = total_usage
                return
            self.skipping = False
        last = _usage(info.get("last_token_usage")) if info else None
        if last is None and total_usage is not None:
            prev = self.previous or (0, 0, 0, 0, 0)
            last = tuple(max(0, a - b) for a, b in zip(total_usage, prev))  # type: ignore[assignment]
        if total_usage is not None:
            self.previous = total_usage
        if last is None:
            return
        inp, cached, out, reasoning, total = last
        if inp == 0 and cached == 0 and out == 0 and reasoning == 0:
            return
        ts = parse_iso_ms(stamp)
        if ts is None:
            self.bad_lines += 1
            return
        flags = 0
        named = None if payload is None else _model_of(payload) or (_model_of(info) if info else None)
        if named is not None:
            self.model, self.model_is_fallback = named, False
            model = named
        elif self.model is not None:
            model = self.model
            if self.model_is_fallback:
                flags |= FALLBACK_MODEL
        else:
            self.model, self.model_is_fallback = FALLBACK, True
            model = FALLBACK
            flags |= FALLBACK_MODEL
        cached = min(cached, inp)
        uncached = inp - cached
        cost, unpriced = prices.cost(prices.lookup("codex", model), uncached, out, 0, cached)
        if unpriced:
            flags |= UNPRICED
        self.events.append(Event(ts, self.session, model, uncached, out, 0, cached, 0, reasoning, total, cost, flags,
                                 (ts, model, inp, cached, out, reasoning, total)))

