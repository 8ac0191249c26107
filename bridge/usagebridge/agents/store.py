"""Other agents' events, kept per source and summed for reports.

A refresh stats every source: a rollout or JSONL chat record that grew is read from where the last
read stopped; one that shrank, was replaced or rewritten (its first bytes changed) is read again
from the start, as is a JSON file that changed and a database whose file or write-ahead log
changed. An agent whose events changed has its sums built again from its events (its rules of
what counts once span files: Codex's replays, OpenCode's message ids)."""

import os
import sqlite3
from bisect import bisect_left
from typing import Dict, Iterable, List, Optional, Tuple

from ..log import log
from ..reports import QUARTER_MS
from ..timeparse import iso_ms
from ..store import HEAD_BYTES, read_head
from . import OTHER_AGENTS, FALLBACK_MODEL, UNPRICED, Event, amp, codex, gemini, opencode
from .prices import AgentPrices

#: A sum: input, output, cache creation, cache read, cost, events, reasoning, total.
Sums = List[float]


def add_event(table: Dict, key, event: Event) -> None:
    sums = table.get(key)
    if sums is None:
        table[key] = [event.inp, event.out, event.cache_create, event.cache_read, event.cost, 1, event.reasoning, event.total]
        return
    sums[0] += event.inp
    sums[1] += event.out
    sums[2] += event.cache_create
    sums[3] += event.cache_read
    sums[4] += event.cost
    sums[5] += 1
    sums[6] += event.reasoning
    sums[7] += event.total


def push_key(key) -> str:
    """An event's key as text (at most 512 characters: the push's `event_key`)."""
    return "|".join(str(part) for part in (key if isinstance(key, tuple) else (key,)))[:512]


def _figures(event: Event) -> tuple:
    """The key of an event that has none of its own: its session, time, model and figures."""
    return (event.session, event.ts, event.model, event.inp, event.out, event.cache_create, event.cache_read, event.extra)


#: A session-report key that never counts (a fork's replay of its parent).
_REPLAYED = object()


class AgentSums:
    """One agent's report sums: per quarter hour x model x session (`buckets`), and for the session
    report (`session_buckets`: Codex counts a replayed event once per session there, once overall
    in the others), each session's event times, the models without a price and the Codex models
    that were guessed."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.models: List[str] = []
        self.sessions: List[Tuple[str, str]] = []
        self.buckets: Dict[Tuple[int, int, int], Sums] = {}
        self.session_buckets: Dict[Tuple[int, int, int], Sums] = {}
        self.session_times: Dict[int, List[int]] = {}
        self.unpriced: set = set()
        self.fallback: set = set()
        self.events = 0
        # The counted events' times and the events, in time order (window sums bisect them).
        self.times: List[int] = []
        self.counted: List[Event] = []

    def window(self, since: int, until: int) -> dict:
        """Usage inside [since, until) (epoch ms), in all and per model (the shape of the Claude
        store's window sums: the official windows' figures)."""
        total = {"input_tokens": 0, "output_tokens": 0, "cache_creation_tokens": 0, "cache_read_tokens": 0,
                 "total_tokens": 0, "cost_usd": 0.0, "entries": 0}
        models: Dict[str, dict] = {}
        for k in range(bisect_left(self.times, since), bisect_left(self.times, until)):
            event = self.counted[k]
            m = models.get(event.model)
            if m is None:
                m = models[event.model] = dict(total, model=event.model)
            for target in (total, m):
                target["input_tokens"] += event.inp
                target["output_tokens"] += event.out
                target["cache_creation_tokens"] += event.cache_create
                target["cache_read_tokens"] += event.cache_read
                target["total_tokens"] += event.total
                target["cost_usd"] += event.cost
                target["entries"] += 1
        for target in (total, *models.values()):
            target["cost_usd"] = round(target["cost_usd"], 6)
        return {"since": iso_ms(since), "until": iso_ms(until), **total,
                "models": sorted(models.values(), key=lambda m: -m["cost_usd"])}

    def build(self, events: Iterable[Event], place: Dict[str, str], once_key, once_per_session_key) -> None:
        model_index: Dict[str, int] = {}
        session_index: Dict[str, int] = {}
        seen: set = set()
        seen_in_session: set = set()
        for event in events:
            model = model_index.get(event.model)
            if model is None:
                model = model_index[event.model] = len(self.models)
                self.models.append(event.model)
            session = session_index.get(event.session)
            if session is None:
                session = session_index[event.session] = len(self.sessions)
                self.sessions.append((place.get(event.session, ""), event.session))
            quarter = event.ts // QUARTER_MS
            key = once_key(event)
            if key is None or key not in seen:
                if key is not None:
                    seen.add(key)
                add_event(self.buckets, (quarter, model, session), event)
                self.events += 1
                self.counted.append(event)
                if event.flags & UNPRICED:
                    self.unpriced.add(event.model)
                if event.flags & FALLBACK_MODEL:
                    self.fallback.add(event.model)
            key = once_per_session_key(event)
            if key is _REPLAYED:
                continue
            if key is None or (event.session, key) not in seen_in_session:
                if key is not None:
                    seen_in_session.add((event.session, key))
                add_event(self.session_buckets, (quarter, model, session), event)
                self.session_times.setdefault(session, []).append(event.ts)
        self.counted.sort(key=lambda event: event.ts)
        self.times = [event.ts for event in self.counted]


def _same_start(path: str, head: bytes) -> bool:
    return not head or read_head(path)[: len(head)] == head


class _Tracked:
    """A source file read as it grows: its reader, and what it looked like when last read."""

    __slots__ = ("reader", "ino", "size", "mtime_ns", "head")

    def __init__(self, reader, st: os.stat_result) -> None:
        self.reader = reader
        self.ino = st.st_ino
        self.size = -1
        self.mtime_ns = -1
        self.head = b""


class AgentStore:
    """Codex's, Gemini CLI's and OpenCode's events and sums. Folders default to each agent's own
    (its environment variable, else its default under the home folder)."""

    def __init__(self, prices: AgentPrices, codex_homes: Optional[List[str]] = None,
                 gemini_dirs: Optional[List[str]] = None, opencode_dirs: Optional[List[str]] = None,
                 amp_dirs: Optional[List[str]] = None) -> None:
        self.prices = prices
        self.codex_homes = codex.homes() if codex_homes is None else codex_homes
        self.gemini_dirs = gemini.data_dirs() if gemini_dirs is None else gemini_dirs
        self.opencode_dirs = opencode.data_dirs() if opencode_dirs is None else opencode_dirs
        self.amp_dirs = amp.data_dirs() if amp_dirs is None else amp_dirs
        self._amp: Dict[str, _Tracked] = {}
        self._codex: Dict[str, _Tracked] = {}
        self._gemini: Dict[str, _Tracked] = {}
        # OpenCode: per folder, its database (path, signature, its messages, its rows as read) and
        # its JSON messages.
        self._opencode_db: Dict[str, Tuple[str, tuple, List[Tuple[str, Event]], opencode.RowCache]] = {}
        self._opencode_files: Dict[str, Tuple[int, int, int, Optional[Tuple[str, Event]]]] = {}
        self.sums: Dict[str, AgentSums] = {agent: AgentSums(agent) for agent in OTHER_AGENTS}
        self.bad_lines = 0
        self.unreadable = 0
        self.generation = 0

    def folders(self) -> Dict[str, List[Tuple[str, bool]]]:
        return {
            "codex": [(h, os.path.isdir(h)) for h in self.codex_homes],
            "gemini": [(d, os.path.isdir(d)) for d in self.gemini_dirs],
            "opencode": [(d, os.path.isdir(d)) for d in self.opencode_dirs],
            "amp": [(d, os.path.isdir(d)) for d in self.amp_dirs],
        }

    def codex_limits(self) -> List[dict]:
        """Codex's official windows as its rollouts last reported them: per limit (`limit_id`) the
        snapshot of the latest line (by its time, across files), with `observed_at`."""
        latest: Dict[str, Tuple[int, dict]] = {}
        for entry in self._codex.values():
            found = entry.reader.limits
            if found is None:
                continue
            held = latest.get(found[1]["limit_id"])
            if held is None or found[0] > held[0]:
                latest[found[1]["limit_id"]] = found
        return [{**snapshot, "observed_at": iso_ms(at)} for at, snapshot in sorted(latest.values(), key=lambda f: f[1]["limit_id"])]

    def health(self) -> dict:
        """Per agent: its folders (and whether they exist), its sources read, its counted events;
        and the lines skipped as broken and the database reads refused (locked)."""
        sources = {
            "codex": len(self._codex),
            "gemini": len(self._gemini),
            "opencode": len(self._opencode_db) + len(self._opencode_files),
            "amp": len(self._amp),
        }
        found = {
            agent: {
                "folders": [{"path": path, "exists": exists} for path, exists in folders],
                "sources": sources[agent],
                "events": self.sums[agent].events,
            }
            for agent, folders in self.folders().items()
        }
        return {**found, "bad_lines": self.bad_lines, "unreadable": self.unreadable}

    @property
    def files(self) -> int:
        return len(self._codex) + len(self._gemini) + len(self._opencode_db) + len(self._opencode_files) + len(self._amp)

    def refresh(self) -> bool:
        """Reads what changed; True when any agent's figures may have."""
        changed = False
        if self._refresh_growing(self._codex, self._codex_found(), "codex"):
            self._build_codex()
            changed = True
        if self._refresh_growing(self._gemini, gemini.walk(self.gemini_dirs), "gemini"):
            self._build_simple("gemini", self._gemini, "Gemini")
            changed = True
        if self._refresh_opencode():
            self._build_opencode()
            changed = True
        if self._refresh_growing(self._amp, amp.walk(self.amp_dirs), "amp"):
            self._build_simple("amp", self._amp, "Amp")
            changed = True
        if changed:
            self.generation += 1
        return changed

    def sources(self):
        """Every source with the events it holds that count (for the push client): (agent, source,
        its state as text, project path, [(event, its key)]). A Codex event repeated in another
        rollout, and an OpenCode message id seen before, are left out where they repeat. A key is
        what the gateway counts an event once by: Codex's and Gemini CLI's the same their
        telemetry gives the same call (its conversation or session, model and figures)."""
        seen: set = set()
        for path, entry in self._codex.items():
            reader = entry.reader
            session = reader.session
            place = session.rsplit("/", 1)[0] if "/" in session else ""
            fresh = [e for e in reader.events if e.key not in seen]
            seen.update(e.key for e in fresh)
            conversation = reader.id or session
            keyed = [(e, push_key((conversation, e.model, e.inp + e.cache_read, e.cache_read, e.out, e.reasoning)))
                     for e in fresh]
            yield "codex", path, f"{entry.ino}:{entry.size}:{entry.mtime_ns}", place, keyed
        for agent, tracked, label in (("gemini", self._gemini, "Gemini"), ("amp", self._amp, "Amp")):
            for path, entry in tracked.items():
                keyed = [(e, push_key(e.key if e.key is not None else _figures(e))) for e in entry.reader.events]
                yield agent, path, f"{entry.ino}:{entry.size}:{entry.mtime_ns}", label, keyed
        ids: set = set()
        for folder in self.opencode_dirs:
            db = self._opencode_db.get(folder)
            local = []
            if db is not None:
                local.append((db[0], repr(db[1]), db[2]))
            for path, known in self._opencode_files.items():
                if path.startswith(os.path.join(folder, "")) and known[3] is not None:
                    local.append((path, f"{known[0]}:{known[1]}:{known[2]}", [known[3]]))
            for source, mark, messages in local:
                kept = []
                for message_id, event in messages:
                    if message_id and message_id in ids:
                        continue
                    if message_id:
                        ids.add(message_id)
                    kept.append((event, push_key(message_id or _figures(event))))
                yield "opencode", source, mark, "OpenCode", kept

    # -- sources read as they grow -------------------------------------------------------------

    def _codex_found(self) -> Dict[str, os.stat_result]:
        found = codex.walk(self.codex_homes)
        self._codex_folder = {path: folder for path, (folder, _st) in found.items()}
        return {path: st for path, (_folder, st) in found.items()}

    def _new_reader(self, agent: str, path: str, st: os.stat_result):
        if agent == "codex":
            return codex.CodexFile(path, self._codex_folder[path])
        if agent == "amp":
            return amp.AmpFile(path)
        return gemini.GeminiFile(path, st.st_mtime_ns // 1_000_000)

    def _refresh_growing(self, tracked: Dict[str, _Tracked], found: Dict[str, os.stat_result], agent: str) -> bool:
        changed = False
        for path in [p for p in tracked if p not in found]:
            del tracked[path]
            changed = True
        for path, st in found.items():
            entry = tracked.get(path)
            if entry is not None and (entry.size, entry.mtime_ns) == (st.st_size, st.st_mtime_ns):
                continue
            whole = getattr(entry.reader, "jsonl", True) is False if entry is not None else False
            if entry is None or entry.ino != st.st_ino or st.st_size < entry.size or whole or not _same_start(path, entry.head):
                entry = tracked[path] = _Tracked(self._new_reader(agent, path, st), st)
            try:
                before = entry.reader.bad_lines
                entry.reader.read(self.prices)
                self.bad_lines += entry.reader.bad_lines - before
            except OSError as error:
                log(f"{agent}: cannot read {path}: {error}")
                continue
            entry.size, entry.mtime_ns = st.st_size, st.st_mtime_ns
            if len(entry.head) < HEAD_BYTES:
                entry.head = read_head(path)
            changed = True
        return changed

    def _build_codex(self) -> None:
        """Codex's sums. An event counts once overall (by its time, model and figures); in the
        session report once per session, except that a fork's replay of its parent's history (the
        parent's events from before the fork started) counts in the parent's session only."""
        sums = AgentSums("codex")
        readers = [entry.reader for entry in self._codex.values()]
        place = {r.session: r.session.rsplit("/", 1)[0] if "/" in r.session else "" for r in readers}
        keys_of: Dict[str, set] = {}
        for reader in readers:
            if reader.id is not None:
                keys_of.setdefault(reader.id, set()).update(e.key for e in reader.events)
        replayed: set = set()
        for reader in readers:
            parent = keys_of.get(reader.forked_from) if reader.forked_from else None
            if parent and reader.started is not None:
                replayed.update(id(e) for e in reader.events if e.ts < reader.started and e.key in parent)

        def in_session(event: Event):
            return _REPLAYED if id(event) in replayed else event.key

        sums.build((e for r in readers for e in r.events), place, lambda event: event.key, in_session)
        self.sums["codex"] = sums

    def _build_simple(self, agent: str, tracked: Dict[str, _Tracked], label: str) -> None:
        """Sums of an agent whose every event counts (Gemini CLI, Amp)."""
        sums = AgentSums(agent)
        none = lambda event: None  # noqa: E731
        events = [e for entry in tracked.values() for e in entry.reader.events]
        sums.build(events, {e.session: label for e in events}, none, none)
        self.sums[agent] = sums

    # -- OpenCode ------------------------------------------------------------------------------

    def _refresh_opencode(self) -> bool:
        changed = False
        folders = [d for d in self.opencode_dirs if os.path.isdir(d)]
        for folder in [f for f in self._opencode_db if f not in folders]:
            del self._opencode_db[folder]
            changed = True
        for folder in folders:
            path = opencode.database_of(folder)
            known = self._opencode_db.get(folder)
            if path is None:
                if known is not None:
                    del self._opencode_db[folder]
                    changed = True
                continue
            mark = opencode.signature(path)
            if known is not None and known[0] == path and known[1] == mark:
                continue
            try:
                messages, rows = opencode.read_database(path, self.prices, known[3] if known and known[0] == path else None)
            except sqlite3.Error as error:
                # Locked, or not (yet) OpenCode's database: keep what was read, try next time.
                self.unreadable += 1
                log(f"opencode: cannot read {path}: {error}")
                continue
            self._opencode_db[folder] = (path, mark, messages, rows)
            changed = True
        found: Dict[str, os.stat_result] = {}
        for folder in folders:
            found.update(opencode.message_files(folder))
        for path in [p for p in self._opencode_files if p not in found]:
            del self._opencode_files[path]
            changed = True
        for path, st in found.items():
            known_file = self._opencode_files.get(path)
            if known_file is not None and known_file[:3] == (st.st_ino, st.st_size, st.st_mtime_ns):
                continue
            self._opencode_files[path] = (st.st_ino, st.st_size, st.st_mtime_ns, opencode.read_message_file(path, self.prices))
            changed = True
        return changed

    def _build_opencode(self) -> None:
        sums = AgentSums("opencode")
        ids: set = set()
        events: List[Event] = []
        by_folder: Dict[str, List[Tuple[str, Event]]] = {}
        for path, known in self._opencode_files.items():
            if known[3] is not None:
                for folder in self.opencode_dirs:
                    if path.startswith(os.path.join(folder, "")):
                        by_folder.setdefault(folder, []).append(known[3])
                        break
        for folder in self.opencode_dirs:
            db = self._opencode_db.get(folder)
            local: set = set()
            for message_id, event in (db[2] if db else []) + by_folder.get(folder, []):
                if message_id:
                    if message_id in local or message_id in ids:
                        continue
                    local.add(message_id)
                events.append(event)
            ids |= local
        none = lambda event: None  # noqa: E731
        sums.build(events, {e.session: "OpenCode" for e in events}, none, none)
        self.sums["opencode"] = sums
