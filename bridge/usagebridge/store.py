"""Incremental reader of Claude Code usage logs (`projects/**/*.jsonl`).

Each file is remembered by identity (device, inode), size, mtime and the byte offset read so far;
a refresh reads only appended bytes. A shrunk, replaced, rewritten (the last bytes read are no
longer there) or deleted file makes the store stale: exactness matters more than speed, so the
service builds a new store from the files as they are now, in the background, and swaps it in
(Claude Code deletes old transcripts routinely; reports meanwhile answer from the old store). A
last line without its newline is left for later.

Entries are kept in compact typed arrays (one slot per request) so a gigabyte of logs fits in well
under 300 MB. A request is counted once, by ccusage 20's rules (docs/bridge.md, "The rules of the numbers"): its
key is `message.id` + `requestId`, or `message.id` alone; of its lines the main chain's beats a
side-chain replay, then the larger token total (a streamed message's billed line beats its
partial ones), then the one with `speed`, then the first in ccusage's reading order (files by
path, lines in order). A better line that arrives later takes the slot over: its old figures
leave every sum (reports, sessions, blocks, windows) and the new ones enter, wherever it lies.
"""

import os
import time
from array import array
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Dict, List, Optional, Tuple

from .files import walk_files
from .log import log
from .parse import HAS_SPEED, NO_KEY, SIDECHAIN, Parsed, Parser, better, parse_files, place_of
from .pricing import PriceTable
from .reports import QUARTER_MS, UsageAggregates

# A cold scan of at least this many bytes is split over worker processes (one per CPU this
# process may use, at most MAX_SCAN_WORKERS); below it, starting workers costs more than it saves.
PARALLEL_MIN_BYTES = 64 * 1024 * 1024
MAX_SCAN_WORKERS = 8


def usable_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """CPUs this process may really use: its affinity mask, lowered by a cgroup v2 (`cpu.max`) or
    v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) quota — a container limited to 2 CPUs on a
    64-core host gets 2, a laptop's 8 cores get 8 (`os.cpu_count()` says 64 and 8)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = None
    try:
        with open(os.path.join(cgroup_root, "cpu.max")) as handle:
            limit, period = handle.read().split()[:2]
            if limit != "max":
                quota = int(limit) / int(period)
    except (OSError, ValueError):
        try:
            with open(os.path.join(cgroup_root, "cpu", "cpu.cfs_quota_us")) as q, \
                    open(os.path.join(cgroup_root, "cpu", "cpu.cfs_period_us")) as p:
                limit_us, period_us = int(q.read()), int(p.read())
                if limit_us > 0 and period_us > 0:
                    quota = limit_us / period_us
        except (OSError, ValueError):
            pass
    if quota is not None:
        cpus = min(cpus, max(1, int(quota)))
    return max(1, cpus)
TASK_BYTES = 24 * 1024 * 1024
TAIL_BYTES = 64
HEAD_BYTES = 256


def read_head(path: str) -> bytes:
    """The file's first bytes (HEAD_BYTES): a file rewritten in place rarely keeps them."""
    try:
        with open(path, "rb") as handle:
            return handle.read(HEAD_BYTES)
    except OSError:
        return b""


def _read_tail(path: str, offset: int) -> bytes:
    if offset <= 0:
        return b""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, offset - TAIL_BYTES))
            return handle.read(min(offset, TAIL_BYTES))
    except OSError:
        return b""


@dataclass
class FileState:
    path: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    offset: int
    # The last bytes read (up to TAIL_BYTES before `offset`) and the first ones (HEAD_BYTES): if
    # either is no longer there, the file was rewritten in place rather than appended to.
    tail: bytes = b""
    head: bytes = b""
    # Where its entries count (see LogStore._place), worked out once per file.
    place: Optional["Place"] = None
    # Its index in LogStore.file_paths (ties between lines are broken by path, then offset).
    index: int = 0


@dataclass(frozen=True)
class Place:
    """Where a file's entries count: its project and its session (indexes into the store's
    tables), and the session's id (Claude Code's)."""

    project: int
    session: int
    session_id: str


@dataclass
class ScanReport:
    files: int
    bytes_read: int
    new_entries: int
    rebuilt: bool
    duration_ms: float


class EntryColumns:
    """Column-wise storage of the counted line of each request: time (epoch ms), four token
    counts, cost, model, session, flags (side chain, speed), and where the line is (file index,
    byte offset)."""

    def __init__(self) -> None:
        self.ts = array("q")
        self.inp = array("q")
        self.out = array("q")
        self.cache_create = array("q")
        self.cache_read = array("q")
        self.cost = array("d")
        self.model = array("i")
        self.session = array("i")
        self.flags = array("b")
        self.file = array("i")
        self.offset = array("q")

    def __len__(self) -> int:
        return len(self.ts)

    def append(self, ts: int, inp: int, out: int, cc: int, cr: int, cost: float, model: int,
               session: int = 0, flags: int = 0, file: int = 0, offset: int = 0) -> int:
        self.ts.append(ts)
        self.inp.append(inp)
        self.out.append(out)
        self.cache_create.append(cc)
        self.cache_read.append(cr)
        self.cost.append(cost)
        self.model.append(model)
        self.session.append(session)
        self.flags.append(flags)
        self.file.append(file)
        self.offset.append(offset)
        return len(self.ts) - 1

    def line(self, slot: int) -> tuple:
        """The slot's line as a Line tuple."""
        return (self.ts[slot], self.inp[slot], self.out[slot], self.cache_create[slot], self.cache_read[slot],
                self.cost[slot], self.model[slot], self.session[slot], self.flags[slot], self.file[slot],
                self.offset[slot])

    def put(self, slot: int, line: tuple) -> None:
        (self.ts[slot], self.inp[slot], self.out[slot], self.cache_create[slot], self.cache_read[slot],
         self.cost[slot], self.model[slot], self.session[slot], self.flags[slot], self.file[slot],
         self.offset[slot]) = line


#: One line of a request: (ts, input, output, cache creation, cache read, cost, model, session,
#: flags, file, offset).
Line = tuple


def _sums(line: Line) -> tuple:
    return (line[1], line[2], line[3], line[4], line[5], 1)


class LogStore:
    def __init__(self, data_dirs: List[str], prices: PriceTable) -> None:
        self.data_dirs = data_dirs
        self._bases = [os.path.join(d, "projects") for d in data_dirs]
        self.prices = prices
        self._reset()
        self.bytes_read_total = 0
        self.last_refresh_bytes = 0
        self.last_scan_ms = 0.0
        self.scans = 0

    def _reset(self) -> None:
        self.files: Dict[str, FileState] = {}
        self.file_paths: List[str] = []
        self.entries = EntryColumns()
        self.models: List[str] = []
        self._model_index: Dict[str, int] = {}
        # Request key -> slot, and message id -> the slot a side-chain replay of it joins.
        self._seen: Dict[int, int] = {}
        self._by_message: Dict[int, int] = {}
        # Project directory names (the folder under `projects/`); sessions (project path, session
        # id), each session's project, its slots, its (first, last) entry time (None: to work out
        # again, after the first or last entry left it).
        self.projects: List[str] = []
        self._project_index: Dict[str, int] = {}
        self.sessions: List[Tuple[str, str]] = []
        self._session_index: Dict[Tuple[str, str], int] = {}
        self.session_project: List[int] = []
        self._session_slots: List[array] = []
        self._session_span: List[Optional[List[int]]] = []
        self._sessions_by_id: Dict[str, List[int]] = {}
        # Per slot whose request has lines in other projects: project -> that project's best line
        # (it counts when a report is filtered to that project).
        self._cross: Dict[int, Dict[int, Line]] = {}
        # Claude Code's session id -> its files (the status line re-reads them when they change).
        self.claude_files: Dict[str, List[str]] = {}
        self.aggregates = UsageAggregates(self.session_project)
        self.malformed_lines = 0
        self.duplicates = 0
        self.replaced = 0
        self.limit_resets_at_ms: Optional[int] = None
        # Slots added since the caller last took them (take_new_entries), and the slots taken
        # before whose line was replaced since, with their time before (take_replaced); and the
        # slots whose time moved since window sums last took them (take_moved_slots: a set, so it
        # stays bounded by the entries however long nobody asks).
        self._pending: List[int] = []
        self._floor = 0
        self._replaced: List[Tuple[int, int]] = []
        self.moved_slots: set = set()
        self.generation = 0

    # -- discovery ---------------------------------------------------------------------------

    def projects_dirs(self) -> List[Tuple[str, bool]]:
        return [(os.path.join(d, "projects"), os.path.isdir(os.path.join(d, "projects"))) for d in self.data_dirs]

    def _walk(self) -> Dict[str, os.stat_result]:
        return walk_files([p for p, exists in self.projects_dirs() if exists], ".jsonl")

    # -- refresh -----------------------------------------------------------------------------

    def walk(self) -> Dict[str, os.stat_result]:
        """Every log file now, with its stat (reads the file system only)."""
        return self._walk()

    def stale(self, found: Dict[str, os.stat_result]) -> bool:
        """Whether a file read before was deleted, replaced, shrunk or rewritten: what it added
        can no longer be trusted, and the store must be built again from the files as they are."""
        for path, state in self.files.items():
            st = found.get(path)
            if st is None or (st.st_dev, st.st_ino) != (state.dev, state.ino) or st.st_size < state.offset:
                return True
            # Same file, as long or longer: an append keeps the bytes read so far, a rewrite not.
            # Looked at whenever its size or mtime moved (a coarse file system's mtime may not).
            if (st.st_mtime_ns != state.mtime_ns or st.st_size != state.size) and (
                _read_tail(path, state.offset) != state.tail or read_head(path)[: len(state.head)] != state.head
            ):
                return True
        return False

    def refresh(self, found: Optional[Dict[str, os.stat_result]] = None) -> ScanReport:
        """Reads what changed since the last refresh (starting over when stale); returns what it
        did. `found`: the files as `walk()` saw them just now."""
        started = time.perf_counter()
        if found is None:
            found = self._walk()
        rebuilt = self.stale(found)
        if rebuilt:
            self._reset()
            self.generation += 1

        before = len(self.entries)
        bytes_read = 0
        # Files already known: read what was appended, in-process.
        for path, state in list(self.files.items()):
            st = found[path]
            if st.st_size > state.offset:
                result = self._parse(path, state.offset)
                self._merge(result, state)
                self._advance(state, st, result)
                bytes_read += result.bytes_read
        # New files, in ccusage's order (by path; which line is kept does not depend on it).
        new_paths = sorted(p for p in found if p not in self.files)
        for path, result in self._parse_new(new_paths, found):
            st = found[path]
            state = FileState(path, st.st_dev, st.st_ino, 0, st.st_mtime_ns, 0, place=self._place(path),
                              index=len(self.file_paths))
            self.file_paths.append(path)
            self.files[path] = state
            self.claude_files.setdefault(state.place.session_id, []).append(path)  # type: ignore[union-attr]
            self._merge(result, state)
            self._advance(state, st, result)
            bytes_read += result.bytes_read

        self.bytes_read_total += bytes_read
        self.last_refresh_bytes = bytes_read
        duration = (time.perf_counter() - started) * 1000
        self.last_scan_ms = duration
        self.scans += 1
        return ScanReport(len(self.files), bytes_read, len(self.entries) - before, rebuilt, duration)

    def _parse(self, path: str, offset: int) -> Parsed:
        """Parses a file from `offset` in-process."""
        parser = Parser(self.prices)
        try:
            parser.read_file(path, offset)
        except OSError:
            pass
        return parser.result

    def _parse_new(self, paths: List[str], found: Dict[str, os.stat_result]):
        """Yields (path, parsed) in the given order; large batches are parsed by worker processes."""
        total = sum(found[p].st_size for p in paths)
        workers = min(MAX_SCAN_WORKERS, usable_cpus())
        if workers < 2 or total < PARALLEL_MIN_BYTES:
            for path in paths:
                yield path, self._parse(path, 0)
            return
        tasks: List[List[str]] = [[]]
        size = 0
        for path in paths:
            if size >= TASK_BYTES:
                tasks.append([])
                size = 0
            tasks[-1].append(path)
            size += found[path].st_size
        done = 0
        try:
            # spawn, not fork: this process runs server threads, and forking those is unsafe.
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                for task, results in zip(tasks, pool.map(parse_files, [self.prices] * len(tasks), tasks)):
                    yield from zip(task, results)
                    done += 1
        except (OSError, BrokenProcessPool) as error:
            # No workers (a sandbox without fork/exec, a killed worker): finish in-process.
            log(f"worker processes failed ({error!r}); scanning in-process")
            for task in tasks[done:]:
                for path in task:
                    yield path, self._parse(path, 0)

    @staticmethod
    def _advance(state: FileState, st: os.stat_result, result: Parsed) -> None:
        state.offset += result.consumed
        state.size = st.st_size
        state.mtime_ns = st.st_mtime_ns
        if result.consumed:
            state.tail = _read_tail(state.path, state.offset)
            if len(state.head) < HEAD_BYTES:
                state.head = read_head(state.path)[: state.offset]

    def _place(self, path: str) -> Place:
        """Where a file's entries count (parse.place_of: its project and session), as indexes
        into this store's tables."""
        name, project_path, session_id = place_of(path, self._bases)
        project = self._project_index.get(name)
        if project is None:
            project = self._project_index[name] = len(self.projects)
            self.projects.append(name)
        session = self._session_index.get((project_path, session_id))
        if session is None:
            session = self._session_index[(project_path, session_id)] = len(self.sessions)
            self.sessions.append((project_path, session_id))
            self.session_project.append(project)
            self._session_slots.append(array("q"))
            self._session_span.append(None)
            self._sessions_by_id.setdefault(session_id, []).append(session)
        return Place(project, session, session_id)

    def changed_since_read(self, session_id: str) -> bool:
        """Whether a file of this Claude Code session changed since it was read (one stat per
        file), or the session is not known yet."""
        paths = self.claude_files.get(session_id)
        if not paths:
            return True
        for path in paths:
            state = self.files.get(path)
            try:
                st = os.stat(path)
            except OSError:
                return True
            if state is None or st.st_size != state.size or st.st_mtime_ns != state.mtime_ns:
                return True
        return False

    # -- merging -----------------------------------------------------------------------------

    def _merge(self, parsed: Parsed, state: FileState) -> None:
        """Merges one read's candidates: a request not seen before takes a new slot; a line of a
        known request takes its slot over when it is the better line (parse.better, then ccusage's
        reading order), else it may still be its project's best copy (see UsageAggregates)."""
        self.malformed_lines += parsed.malformed
        self.duplicates += parsed.duplicates
        if parsed.limit_resets_at_ms is not None and (
            self.limit_resets_at_ms is None or parsed.limit_resets_at_ms > self.limit_resets_at_ms
        ):
            self.limit_resets_at_ms = parsed.limit_resets_at_ms
        place = state.place
        assert place is not None
        session, file = place.session, state.index
        remap = []
        for name in parsed.models:
            index = self._model_index.get(name)
            if index is None:
                index = self._model_index[name] = len(self.models)
                self.models.append(name)
            remap.append(index)
        seen, by_message, entries, pending = self._seen, self._by_message, self.entries, self._pending
        entry_flags = entries.flags
        # The new-request path runs once per request of a cold scan: written out, no calls.
        put_ts, put_inp, put_out = entries.ts.append, entries.inp.append, entries.out.append
        put_cc, put_cr, put_cost = entries.cache_create.append, entries.cache_read.append, entries.cost.append
        put_model, put_session, put_flags = entries.model.append, entries.session.append, entries.flags.append
        put_file, put_offset = entries.file.append, entries.offset.append
        aggregates = self.aggregates
        buckets, session_sums, rollups = aggregates.main.buckets, aggregates.main.sessions, aggregates.rollups
        by_model: Dict[int, list] = {}
        slots = self._session_slots[session]
        span = self._session_span[session]
        ts_col, inp_col, out_col, cc_col, cr_col = parsed.ts, parsed.inp, parsed.out, parsed.cache_create, parsed.cache_read
        cost_col, model_col, keys, messages = parsed.cost, parsed.model, parsed.keys, parsed.messages
        flags_col, offsets = parsed.flags, parsed.offsets
        for i in range(len(keys)):
            key = keys[i]
            slot = None
            if key != NO_KEY:
                slot = seen.get(key)
                if slot is None:
                    # A side-chain replay joins the request of its message (and the main chain's
                    # line of a message replaces a side-chain line that came first).
                    other = by_message.get(messages[i])
                    if other is not None and (flags_col[i] & SIDECHAIN or entry_flags[other] & SIDECHAIN):
                        slot = seen[key] = other
            ts, inp, out, cc, cr, cost = ts_col[i], inp_col[i], out_col[i], cc_col[i], cr_col[i], cost_col[i]
            model = remap[model_col[i]]
            if slot is None:
                slot = len(entries.ts)
                put_ts(ts)
                put_inp(inp)
                put_out(out)
                put_cc(cc)
                put_cr(cr)
                put_cost(cost)
                put_model(model)
                put_session(session)
                put_flags(flags_col[i])
                put_file(file)
                put_offset(offsets[i])
                group = (ts // QUARTER_MS, model, session)
                sums = buckets.get(group)
                if sums is None:
                    buckets[group] = [inp, out, cc, cr, cost, 1]
                else:
                    sums[0] += inp
                    sums[1] += out
                    sums[2] += cc
                    sums[3] += cr
                    sums[4] += cost
                    sums[5] += 1
                # The session's share: per model, added once per read (a read is one session's).
                sums = by_model.get(model)
                if sums is None:
                    by_model[model] = [inp, out, cc, cr, cost, 1]
                else:
                    sums[0] += inp
                    sums[1] += out
                    sums[2] += cc
                    sums[3] += cr
                    sums[4] += cost
                    sums[5] += 1
                if rollups:
                    aggregates.add_to_rollups(ts, (inp, out, cc, cr, cost, 1), model, session)
                slots.append(slot)
                if span is None:
                    # The session's first entry (else its span is to be worked out again).
                    if len(slots) == 1:
                        span = self._session_span[session] = [ts, ts]
                elif ts < span[0]:
                    span[0] = ts
                elif ts > span[1]:
                    span[1] = ts
                if key != NO_KEY:
                    seen[key] = slot
                    by_message.setdefault(messages[i], slot)
                pending.append(slot)
                continue
            # (The read's session sums first: the line replaced may be one of this read's.)
            self._flush_session(session, by_model)
            self._offer(slot, (ts, inp, out, cc, cr, cost, model, session, flags_col[i], file, offsets[i]))
            span = self._session_span[session]
        self._flush_session(session, by_model)

    def _flush_session(self, session: int, by_model: Dict[int, list]) -> None:
        """Adds a read's sums per model to its session's, and empties them."""
        session_sums = self.aggregates.main.sessions
        for model, values in by_model.items():
            sums = session_sums.get((session, model))
            if sums is None:
                session_sums[(session, model)] = values
            else:
                for k in range(6):
                    sums[k] += values[k]
                if sums[5] == 0:
                    del session_sums[(session, model)]
        by_model.clear()

    def _wins(self, line: Line, held: Line) -> bool:
        """Whether `line` is kept over `held` (both lines of one request)."""
        verdict = better(
            bool(line[8] & SIDECHAIN), line[1] + line[2] + line[3] + line[4], bool(line[8] & HAS_SPEED),
            bool(held[8] & SIDECHAIN), held[1] + held[2] + held[3] + held[4], bool(held[8] & HAS_SPEED),
        )
        if verdict is not None:
            return verdict
        paths = self.file_paths
        return (paths[line[9]], line[10]) < (paths[held[9]], held[10])

    def _offer(self, slot: int, line: Line) -> None:
        """Another line of the request in `slot`."""
        self.duplicates += 1
        held = self.entries.line(slot)
        project = self.session_project[line[7]]
        held_project = self.session_project[held[7]]
        add = self.aggregates.add
        if self._wins(line, held):
            if project != held_project:
                # The line held so far stays its own project's best copy; this project's copy,
                # if it had one, is now the counted line.
                copies = self._cross.setdefault(slot, {})
                mine = copies.pop(project, None)
                if mine is not None:
                    add(mine[0], _sums(mine), mine[6], mine[7], -1, cross=True)
                copies[held_project] = held
                add(held[0], _sums(held), held[6], held[7], 1, cross=True)
            self._replace(slot, held, line)
            return
        if project != held_project:
            copies = self._cross.setdefault(slot, {})
            mine = copies.get(project)
            if mine is None or self._wins(line, mine):
                if mine is not None:
                    add(mine[0], _sums(mine), mine[6], mine[7], -1, cross=True)
                copies[project] = line
                add(line[0], _sums(line), line[6], line[7], 1, cross=True)

    def _replace(self, slot: int, held: Line, line: Line) -> None:
        """The counted line of a request changes: its old figures leave every sum, the new enter."""
        self.replaced += 1
        add = self.aggregates.add
        add(held[0], _sums(held), held[6], held[7], -1)
        add(line[0], _sums(line), line[6], line[7], 1)
        self.entries.put(slot, line)
        old_session, new_session = held[7], line[7]
        if old_session != new_session:
            self._session_slots[old_session].remove(slot)
            self._session_slots[new_session].append(slot)
        old_span = self._session_span[old_session]
        if old_span is not None and (held[0] == old_span[0] or held[0] == old_span[1]):
            self._session_span[old_session] = None
        new_span = self._session_span[new_session]
        if new_span is not None:
            new_span[0] = min(new_span[0], line[0])
            new_span[1] = max(new_span[1], line[0])
        if slot < self._floor and held[0] != line[0]:
            self._replaced.append((slot, held[0]))
            self.moved_slots.add(slot)

    # -- reading -----------------------------------------------------------------------------

    def session_span(self, session: int) -> Tuple[int, int]:
        """(first, last) entry time of a session's counted entries."""
        span = self._session_span[session]
        if span is None:
            ts = self.entries.ts
            times = [ts[slot] for slot in self._session_slots[session]]
            span = self._session_span[session] = [min(times), max(times)] if times else [0, 0]
        return span[0], span[1]

    def session_times(self, session: int) -> List[int]:
        ts = self.entries.ts
        return [ts[slot] for slot in self._session_slots[session]]

    def cross_entries(self, project: int):
        """(ts, sums, model, session) of the best lines of this project whose request is counted
        in another project."""
        for copies in self._cross.values():
            line = copies.get(project)
            if line is not None:
                yield line[0], _sums(line), line[6], line[7]

    def claude_session(self, session_id: str) -> Optional[List[float]]:
        """A Claude Code session's sums (every project path it appears under): input, output,
        cache creation, cache read, cost, entries, last entry (ms); None when unknown."""
        found = None
        sessions = self.aggregates.main.sessions
        for session in self._sessions_by_id.get(session_id, ()):
            for model in range(len(self.models)):
                sums = sessions.get((session, model))
                if sums is None:
                    continue
                if found is None:
                    found = [0, 0, 0, 0, 0.0, 0, 0]
                for k in range(6):
                    found[k] += sums[k]
            if found is not None and self._session_slots[session]:
                found[6] = max(found[6], self.session_span(session)[1])
        return found

    def take_new_entries(self) -> List[int]:
        pending, self._pending = self._pending, []
        self._floor = len(self.entries)
        return pending

    def take_moved_slots(self) -> set:
        moved, self.moved_slots = self.moved_slots, set()
        return moved

    def take_replaced(self) -> List[Tuple[int, int]]:
        """Slots taken before whose line was replaced since, with their time before (first
        replacement of each)."""
        replaced, self._replaced = self._replaced, []
        first: Dict[int, int] = {}
        for slot, ts in replaced:
            first.setdefault(slot, ts)
        return list(first.items())
