"""OpenCode's messages, read as ccusage 20's OpenCode adapter reads them.

Where: every folder of `OPENCODE_DATA_DIR` (a comma list; default ~/.local/share/opencode): its
SQLite database — `opencode.db`, else the first `opencode-<channel>.db` by name — table `message`
(`id`, `session_id`, `data` JSON), opened read-only; and the older `storage/message/**/*.json`, one
message per file. A message id counts once: the database's row, then the first folder's.

What counts: a message with `tokens` (`input`, `output`, `reasoning`, `cache.read`, `cache.write`,
`total`), a `modelID` and a `providerID`. Reasoning and any total above the parts count in the
total and are priced as output. Its recorded `cost` is used when above zero, else it is priced
from the table (`<provider>/<model>`). The time is `time.created` (epoch ms); the session its
`session_id` (`sessionID` in a JSON file)."""

import json
import os
import re
import sqlite3
from typing import Dict, List, Optional, Tuple

from ..files import folders_from_env, walk_files
from . import UNPRICED, Event, count_value as _u64, text_value as _text
from .prices import AgentPrices

_CHANNEL_DB = re.compile(r"opencode-[A-Za-z0-9_-]+\.db$")
#: How long a read waits for a database another process is writing (ms); a locked read is skipped
#: and counted, and the last one read stays.
BUSY_TIMEOUT_MS = 200


def data_dirs() -> List[str]:
    return folders_from_env("OPENCODE_DATA_DIR", (".local", "share", "opencode"))


def database_of(folder: str) -> Optional[str]:
    default = os.path.join(folder, "opencode.db")
    if os.path.isfile(default):
        return default
    try:
        names = sorted(n for n in os.listdir(folder) if _CHANNEL_DB.match(n) and os.path.isfile(os.path.join(folder, n)))
    except OSError:
        return None
    return os.path.join(folder, names[0]) if names else None


def signature(path: str) -> Tuple:
    """What says a database changed: its own and its write-ahead log's size and mtime."""
    marks: List[object] = []
    for name in (path, path + "-wal"):
        try:
            st = os.stat(name)
            marks.append((st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:
            marks.append(None)
    return tuple(marks)


def message_files(folder: str) -> Dict[str, os.stat_result]:
    return walk_files([os.path.join(folder, "storage", "message")], ".json")


def event_of(data: object, message_id: Optional[str], session: Optional[str], prices: AgentPrices) -> Optional[Tuple[str, Event]]:
    """(message id, event) of one message, or None when it does not count."""
    if not isinstance(data, dict):
        return None
    tokens = data.get("tokens")
    if not isinstance(tokens, dict):
        return None
    cache = tokens.get("cache") if isinstance(tokens.get("cache"), dict) else {}
    inp, out = _u64(tokens.get("input")), _u64(tokens.get("output"))
    write, read = _u64(cache.get("write")), _u64(cache.get("read"))
    reasoning = _u64(tokens.get("reasoning"))
    extra = reasoning
    missing = max(0, _u64(tokens.get("total")) - (inp + out + write + read + extra))
    if missing:
        if out == 0:
            out = missing
        else:
            extra += missing
    if inp == 0 and out == 0 and write == 0 and read == 0 and extra == 0:
        return None
    model, provider = _text(data.get("modelID")), _text(data.get("providerID"))
    if model is None or provider is None:
        return None
    created = data.get("time", {}).get("created") if isinstance(data.get("time"), dict) else None
    ts = created if isinstance(created, int) and not isinstance(created, bool) else 0
    message_id = message_id or _text(data.get("id")) or ""
    session = session or _text(data.get("sessionID")) or "unknown"
    recorded = data.get("cost")
    flags = 0
    if isinstance(recorded, (int, float)) and not isinstance(recorded, bool) and recorded > 0:
        cost = float(recorded)
    else:
        cost, unpriced = prices.cost(prices.lookup("opencode", f"{provider}/{model}"), inp, out + extra, write, read)
        flags = UNPRICED if unpriced else 0
    total = inp + out + write + read + extra
    return message_id, Event(ts, session, model, inp, out, write, read, extra, reasoning, total, cost, flags,
                             message_id or None)


#: A database's rows as last read: id -> (session, data, what they counted as).
RowCache = Dict[str, Tuple[str, str, Optional[Tuple[str, Event]]]]


def read_database(path: str, prices: AgentPrices, cache: Optional[RowCache] = None) -> Tuple[List[Tuple[str, Event]], RowCache]:
    """Every counted message of a database, read-only, and the rows as read (raises sqlite3.Error
    when it cannot be read: locked, not a database, no `message` table). A row whose data is the
    same as in `cache` (the last reading) is not parsed again: a database read again after a change
    costs the query, not the JSON."""
    found: List[Tuple[str, Event]] = []
    rows: RowCache = {}
    known = cache or {}
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        for row_id, session, data in connection.execute("SELECT id, session_id, data FROM message"):
            if not isinstance(row_id, str) or not isinstance(session, str) or not isinstance(data, str):
                continue
            before = known.get(row_id)
            if before is not None and before[0] == session and before[1] == data:
                counted = before[2]
            else:
                try:
                    counted = event_of(json.loads(data), row_id, session, prices)
                except ValueError:
                    counted = None
            rows[row_id] = (session, data, counted)
            if counted is not None:
                found.append(counted)
    finally:
        connection.close()
    return found, rows


def read_message_file(path: str, prices: AgentPrices) -> Optional[Tuple[str, Event]]:
    try:
        with open(path, "rb") as handle:
            value = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    return event_of(value, None, None, prices)
