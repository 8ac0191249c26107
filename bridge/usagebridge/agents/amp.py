"""Amp's threads, read as ccusage 20's Amp adapter reads them.

Where: every folder of `AMP_DATA_DIR` (a comma list; default ~/.local/share/amp): `threads/**/*.json`,
one JSON object per thread (`T-<uuid>.json`), rewritten as the thread grows (read whole when it
changes).

What counts: the thread's `usageLedger.events` when it has them (`tokens.input`, `tokens.output`,
`tokens.total`; cache writes and reads from the assistant message they point to, `toMessageId`),
else each assistant message's `usage` (`inputTokens`, `outputTokens`, `cacheCreationInputTokens`,
`cacheReadInputTokens`, `totalTokens`, `model`, `timestamp`). A total above the parts counts in the
total and is priced as output (or is the output when there is none). The session is the thread's
`id`."""

import json
import os
from typing import Dict, List, Optional

from ..timeparse import parse_iso_ms
from ..files import folders_from_env, walk_files
from . import UNPRICED, Event, count_value as _u64, text_value as _text
from .prices import AgentPrices


def data_dirs() -> List[str]:
    return folders_from_env("AMP_DATA_DIR", (".local", "share", "amp"))


def walk(dirs: List[str]) -> Dict[str, os.stat_result]:
    return walk_files([os.path.join(d, "threads") for d in dirs], ".json")


def _event(ts_text: Optional[str], model: Optional[str], thread: str, inp: int, out: int, write: int, read: int,
           total: int, prices: AgentPrices, key: object = None) -> Optional[Event]:
    if ts_text is None or model is None:
        return None
    ts = parse_iso_ms(ts_text)
    if ts is None:
        return None
    extra = 0
    missing = max(0, total - (inp + out + write + read))
    if missing:
        if out == 0:
            out = missing
        else:
            extra = missing
    if inp == 0 and out == 0 and write == 0 and read == 0 and extra == 0:
        return None
    cost, unpriced = prices.cost(prices.lookup("amp", model), inp, out + extra, write, read)
    return Event(ts, thread, model, inp, out, write, read, extra, 0, inp + out + write + read + extra, cost,
                 UNPRICED if unpriced else 0, key)


class AmpFile:
    """One thread file, read whole whenever it changes."""

    jsonl = False

    def __init__(self, path: str, _mtime_ms: int = 0) -> None:
        self.path = path
        self.events: List[Event] = []
        self.bad_lines = 0

    def read(self, prices: AgentPrices) -> None:
        self.events = []
        try:
            with open(self.path, "rb") as handle:
                thread = json.loads(handle.read())
        except ValueError:
            self.bad_lines += 1
            return
        if not isinstance(thread, dict):
            return
        thread_id = _text(thread.get("id"))
        if thread_id is None:
            return
        messages = thread.get("messages") if isinstance(thread.get("messages"), list) else []
        ledger = thread.get("usageLedger")
        events = ledger.get("events") if isinstance(ledger, dict) else None
        if isinstance(events, list):
            cache: Dict[int, tuple] = {}
            for message in messages:
                if isinstance(message, dict) and message.get("role") == "assistant":
                    mid = message.get("messageId")
                    if isinstance(mid, int) and not isinstance(mid, bool):
                        usage = message.get("usage") if isinstance(message.get("usage"), dict) else {}
                        cache[mid] = (_u64(usage.get("cacheCreationInputTokens")), _u64(usage.get("cacheReadInputTokens")))
            for index, item in enumerate(events):
                if not isinstance(item, dict) or not isinstance(item.get("tokens"), dict):
                    continue
                tokens = item["tokens"]
                target = item.get("toMessageId")
                write, read = cache.get(target, (0, 0)) if isinstance(target, int) else (0, 0)
                event = _event(_text(item.get("timestamp")), _text(item.get("model")), thread_id,
                               _u64(tokens.get("input")), _u64(tokens.get("output")), write, read,
                               _u64(tokens.get("total")), prices, (thread_id, "event", _text(item.get("id")) or index))
                if event is not None:
                    self.events.append(event)
            return
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") != "assistant":
                continue
            usage = message.get("usage")
            mid = message.get("messageId")
            if not isinstance(usage, dict):
                continue
            event = _event(_text(usage.get("timestamp")) or _text(message.get("timestamp")),
                           _text(usage.get("model")) or _text(message.get("model")), thread_id,
                           _u64(usage.get("inputTokens")), _u64(usage.get("outputTokens")),
                           _u64(usage.get("cacheCreationInputTokens")), _u64(usage.get("cacheReadInputTokens")),
                           _u64(usage.get("totalTokens")), prices,
                           (thread_id, "message", mid if isinstance(mid, (int, str)) and not isinstance(mid, bool) else index))
            if event is not None:
                self.events.append(event)
