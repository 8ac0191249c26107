"""Gemini CLI's chat records, read as ccusage 20's Gemini adapter reads them.

Where: every folder of `GEMINI_DATA_DIR` (a comma list; default ~/.gemini/tmp), every `*.json` and
`*.jsonl` below it (Gemini CLI writes `<project hash>/chats/session-….jsonl`; before 0.39 one JSON
object per session).

What counts: `gemini` messages with `tokens` (`{input, output, cached, thoughts, tool, total}`); in
JSONL a message is written again with the same `id` once its tokens arrive, the last write counting.
`input` includes `cached` (when `total` says so); `tool` counts as input; `thoughts` and any total
above the parts count in the total and are priced as output. The model is the message's, else the
last one the file named. A session is the file's `sessionId` (else its name)."""

import json
import os
from typing import Dict, List, Optional, Tuple

from ..files import folders_from_env, walk_files
from ..timeparse import parse_iso_ms
from . import UNPRICED, Event
from .prices import AgentPrices


def data_dirs() -> List[str]:
    return folders_from_env("GEMINI_DATA_DIR", (".gemini", "tmp"))


def walk(dirs: List[str]) -> Dict[str, os.stat_result]:
    return walk_files(dirs, (".json", ".jsonl"))


def _count(record: dict, *names: str) -> int:
    for name in names:
        value = record.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and value not in (float("inf"), float("-inf")):
            return max(0, int(value))
    return 0


def _tokens(value: object) -> Optional[Tuple[int, int, int, int, int, Optional[int]]]:
    """(input, output, cached, thoughts, tool, total or None)."""
    if not isinstance(value, dict):
        return None
    total = value.get("total", value.get("total_tokens"))
    has_total = isinstance(total, (int, float)) and not isinstance(total, bool) and total == total
    return (
        _count(value, "input", "prompt", "input_tokens", "prompt_tokens"),
        _count(value, "output", "candidates", "output_tokens", "candidates_tokens"),
        _count(value, "cached", "cached_tokens"),
        _count(value, "thoughts", "reasoning", "thoughts_tokens", "reasoning_tokens"),
        _count(value, "tool", "tool_tokens"),
        max(0, int(total)) if has_total else None,  # type: ignore[arg-type]
    )


def _text(record: dict, name: str) -> Optional[str]:
    value = record.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _time(record: dict, *names: str) -> Optional[int]:
    for name in names:
        value = record.get(name)
        if isinstance(value, str):
            ms = parse_iso_ms(value.strip())
            if ms is not None:
                return ms
    return None


def event_of(tokens, model: Optional[str], session: str, ts: int, prices: AgentPrices, subtract_always: bool,
             message_id: Optional[str] = None) -> Optional[Event]:
    if model is None or not model.strip():
        return None
    inp, out, cached, thoughts, tool, given_total = tokens
    inclusive = inp + out + thoughts + tool
    if subtract_always or (cached > 0 and given_total == inclusive and given_total != inclusive + cached):
        uncached = inp - min(inp, cached)
    else:
        uncached = inp
    inp_shown = uncached + tool
    total = given_total if given_total is not None else inp_shown + out + cached + thoughts
    extra = thoughts
    missing = max(0, total - (inp_shown + out + cached + extra))
    if missing:
        if out == 0:
            out = missing
        else:
            extra += missing
    if inp_shown == 0 and out == 0 and cached == 0 and extra == 0:
        return None
    cost, unpriced = prices.cost(prices.lookup("gemini", model), inp_shown, out + extra, 0, cached)
    # Its key: the session and the usage metadata, as Gemini CLI's telemetry reports the same call
    # (the gateway's OTLP receiver keys its `api_response` so).
    key = (session, model, inp, tokens[1], cached, thoughts, tool)
    return Event(ts, session, model, inp_shown, out, 0, cached, extra, thoughts, total, cost,
                 UNPRICED if unpriced else 0, key)


def _stats_events(stats: object, hint: Optional[str], session: str, ts: int, prices: AgentPrices) -> List[Event]:
    if not isinstance(stats, dict):
        return []
    models = stats.get("models")
    events: List[Event] = []
    if isinstance(models, dict):
        for model, data in models.items():
            tokens = _tokens(data.get("tokens")) if isinstance(data, dict) else None
            if tokens is not None:
                event = event_of(tokens, model, session, ts, prices, True)
                if event is not None:
                    events.append(event)
        if events:
            return events
    tokens = _tokens(stats)
    event = event_of(tokens, hint or "unknown", session, ts, prices, True) if tokens else None
    return [event] if event is not None else []


def _stats_of(record: dict) -> object:
    stats = record.get("stats")
    if stats is None and isinstance(record.get("result"), dict):
        stats = record["result"].get("stats")
    return stats


class GeminiFile:
    """One chat record file. JSONL is read as it grows (a message id's last write replaces its
    earlier ones); a JSON file is read whole whenever it changes."""

    def __init__(self, path: str, mtime_ms: int) -> None:
        self.path = path
        self.jsonl = path.endswith(".jsonl")
        self.mtime_ms = mtime_ms
        self.offset = 0
        self.session = os.path.splitext(os.path.basename(path))[0] or "unknown"
        self.model: Optional[str] = None
        self.events: List[Event] = []
        self.by_id: Dict[str, int] = {}
        self.bad_lines = 0

    def read(self, prices: AgentPrices) -> None:
        if not self.jsonl:
            self._read_json(prices)
            return
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        cut = data.rfind(b"\n")
        if cut < 0:
            return
        self.offset += cut + 1
        for line in data[:cut].split(b"\n"):
            self._line(line, prices)

    def _line(self, line: bytes, prices: AgentPrices) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            if line.strip():
                self.bad_lines += 1
            return
        if not isinstance(record, dict):
            return
        session = _text(record, "sessionId") or _text(record, "session_id")
        if session is not None:
            self.session = session
        model = _text(record, "model")
        if model is not None:
            self.model = model
        if record.get("type") == "gemini":
            tokens = _tokens(record.get("tokens"))
            if tokens is None:
                return
            ts = _time(record, "timestamp", "created_at")
            message_id = _text(record, "id")
            event = event_of(tokens, model or self.model, self.session, self.mtime_ms if ts is None else ts, prices, False,
                             message_id)
            if event is None:
                return
            if message_id is None:
                self.events.append(event)
            elif message_id in self.by_id:
                self.events[self.by_id[message_id]] = event
            else:
                self.by_id[message_id] = len(self.events)
                self.events.append(event)
            return
        stats = _stats_of(record)
        if stats is not None:
            ts = _time(record, "timestamp")
            self.events.extend(_stats_events(stats, self.model, self.session, self.mtime_ms if ts is None else ts, prices))

    def _read_json(self, prices: AgentPrices) -> None:
        self.events = []
        try:
            with open(self.path, "rb") as handle:
                record = json.loads(handle.read())
        except ValueError:
            self.bad_lines += 1
            return
        if not isinstance(record, dict):
            return
        session = _text(record, "sessionId") or _text(record, "session_id") or self.session
        started = _time(record, "startTime", "lastUpdated")
        started = self.mtime_ms if started is None else started
        messages = record.get("messages")
        if isinstance(messages, list):
            for message in messages:
                if isinstance(message, dict) and message.get("type") == "gemini":
                    tokens = _tokens(message.get("tokens"))
                    if tokens is None:
                        continue
                    ts = _time(message, "timestamp", "created_at")
                    event = event_of(tokens, _text(message, "model"), session, started if ts is None else ts, prices, False,
                                     _text(message, "id"))
                    if event is not None:
                        self.events.append(event)
            return
        if record.get("type") == "gemini":
            tokens = _tokens(record.get("tokens"))
            ts = _time(record, "timestamp", "created_at")
            event = event_of(tokens, _text(record, "model"), session, self.mtime_ms if ts is None else ts, prices, False) if tokens else None
            self.events = [event] if event is not None else []
            return
        ts = _time(record, "timestamp")
        self.events = _stats_events(_stats_of(record), _text(record, "model"), session,
                                    self.mtime_ms if ts is None else ts, prices)
