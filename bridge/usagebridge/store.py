"""Incremental reader of Claude Code usage logs (`projects/**/*.jsonl`).

Each file is remembered by identity (device, inode), size, mtime and the byte offset read so far;
a refresh reads only appended bytes. A shrunk, replaced, rewritten (the last bytes read are no
longer there) or deleted file makes the store stale: exactness matters more than speed, so the
service builds a new store from the files as they are now, in the background, and swaps it in
(Claude Code deletes old transcripts routinely; reports meanwhile answer from the old store). A
last line without its newline is left for later.

Entries are kept in compact typed arrays (one slot per entry) so a gigabyte of logs fits in well
under 300 MB, and de-duplicated on `message.id` + `requestId`, first seen wins, in the order
ccusage reads them (files by earliest timestamp, then line order), so totals agree with it.
"""

import os
import re
import time
from array import array
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Dict, List, Optional, Tuple

from .parse import NO_KEY, Parsed, Parser, parse_files, place_of
from .pricing import PriceTable
from .reports import UsageAggregates
from .timeparse import parse_iso_ms

_HEAD_TS = re.compile(rb'"timestamp"\s*:\s*"([^"]+)"')
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
    # The last bytes read (up to TAIL_BYTES before `offset`): if they are no longer there, the file
    # was rewritten in place rather than appended to.
    tail: bytes = b""
    # Where its entries count (see LogStore._place), worked out once per file.
    place: Optional["Place"] = None


@dataclass(frozen=True)
class Place:
    """Where a file's entries count: its project, its session as ccusage names it, and its Claude
    Code session (None when the path has no such folder)."""

    project: int
    session: int
    claude: Optional[str]


@dataclass
class ScanReport:
    files: int
    bytes_read: int
    new_entries: int
    rebuilt: bool
    duration_ms: float


class EntryColumns:
    """Column-wise storage of usage entries: time (epoch ms), four token counts, cost, model,
    project."""

    def __init__(self) -> None:
        self.ts = array("q")
        self.inp = array("q")
        self.out = array("q")
        self.cache_create = array("q")
        self.cache_read = array("q")
        self.cost = array("d")
        self.model = array("i")
        self.project = array("i")

    def __len__(self) -> int:
        return len(self.ts)

    def append(self, ts: int, inp: int, out: int, cc: int, cr: int, cost: float, model: int, project: int = 0) -> int:
        self.ts.append(ts)
        self.inp.append(inp)
        self.out.append(out)
        self.cache_create.append(cc)
        self.cache_read.append(cr)
        self.cost.append(cost)
        self.model.append(model)
        self.project.append(project)
        return len(self.ts) - 1


class ProjectSeen:
    """The keys a parser of one project's file skips: those stored from that project, and those it
    already counted as its own copy of another project's entry (see LogStore._merge)."""

    def __init__(self, store: "LogStore", project: int) -> None:
        self.seen = store._seen
        self.projects = store.entries.project
        self.cross = store._cross_seen
        self.project = project

    def __contains__(self, key: object) -> bool:
        slot = self.seen.get(key)  # type: ignore[arg-type]
        if slot is None:
            return False
        return self.projects[slot] == self.project or (key, self.project) in self.cross


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
        self.entries = EntryColumns()
        self.models: List[str] = []
        self._model_index: Dict[str, int] = {}
        self._seen: Dict[int, int] = {}
        # Project directory names (the folder under `projects/`), sessions as ccusage names them
        # (project path, session id, project index), and the report sums.
        self.projects: List[str] = []
        self._project_index: Dict[str, int] = {}
        self.sessions: List[Tuple[str, str, int]] = []
        self._session_index: Dict[Tuple[str, str], int] = {}
        # (key, project) of lines that repeat another project's entry, counted for their project.
        self._cross_seen: set = set()
        # Per Claude Code session (the log file's name, or for a subagent's file the session folder
        # it lies in): input, output, cache creation, cache read, cost, entries, latest entry (ms).
        self.claude_sessions: Dict[str, List[float]] = {}
        self.claude_files: Dict[str, List[str]] = {}
        self.aggregates = UsageAggregates()
        self.malformed_lines = 0
        self.duplicates = 0
        self.limit_resets_at_ms: Optional[int] = None
        # Indices of entries added since the caller last took them (see take_new_entries).
        self._pending: List[int] = []
        self.generation = 0

    # -- discovery ---------------------------------------------------------------------------

    def projects_dirs(self) -> List[Tuple[str, bool]]:
        return [(os.path.join(d, "projects"), os.path.isdir(os.path.join(d, "projects"))) for d in self.data_dirs]

    def _walk(self) -> Dict[str, os.stat_result]:
        found: Dict[str, os.stat_result] = {}
        stack = [p for p, exists in self.projects_dirs() if exists]
        while stack:
            directory = stack.pop()
            try:
                with os.scandir(directory) as it:
                    for item in it:
                        try:
                            if item.is_dir(follow_symlinks=False):
                                stack.append(item.path)
                            elif item.name.endswith(".jsonl") and item.is_file():
                                found[item.path] = item.stat()
                        except OSError:
                            continue
            except OSError:
                continue
        return found

    @staticmethod
    def _earliest_timestamp(path: str) -> int:
        """The first timestamp in the file's head: ccusage reads files in this order."""
        try:
            with open(path, "rb") as handle:
                head = handle.read(16 * 1024)
        except OSError:
            return 2**62
        best = None
        for match in _HEAD_TS.finditer(head):
            ms = parse_iso_ms(match.group(1).decode("utf-8", "replace"))
            if ms is not None and (best is None or ms < best):
                best = ms
        return best if best is not None else 2**62

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
            if st.st_mtime_ns != state.mtime_ns and _read_tail(path, state.offset) != state.tail:
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
                place = state.place or self._place(path)
                result = self._parse(path, state.offset, place)
                self._merge(result, place)
                self._advance(state, st, result)
                bytes_read += result.bytes_read
        # New files, in ccusage's order (earliest timestamp first).
        new_paths = sorted((p for p in found if p not in self.files), key=lambda p: (self._earliest_timestamp(p), p))
        places = {path: self._place(path) for path in new_paths}
        for path, result in self._parse_new(new_paths, found, places):
            st = found[path]
            place = places[path]
            state = FileState(path, st.st_dev, st.st_ino, 0, st.st_mtime_ns, 0, place=place)
            self.files[path] = state
            if place.claude is not None:
                self.claude_files.setdefault(place.claude, []).append(path)
            self._merge(result, place)
            self._advance(state, st, result)
            bytes_read += result.bytes_read

        self.bytes_read_total += bytes_read
        self.last_refresh_bytes = bytes_read
        duration = (time.perf_counter() - started) * 1000
        self.last_scan_ms = duration
        self.scans += 1
        return ScanReport(len(self.files), bytes_read, len(self.entries) - before, rebuilt, duration)

    def _parse(self, path: str, offset: int, place: "Place") -> Parsed:
        """Parses a file from `offset` in-process (keys stored from its project are skipped)."""
        parser = Parser(self.prices, ProjectSeen(self, place.project))
        try:
            parser.read_file(path, offset)
        except OSError:
            pass
        return parser.result

    def _parse_new(self, paths: List[str], found: Dict[str, os.stat_result], places: Dict[str, "Place"]):
        """Yields (path, parsed) in the given order; large batches are parsed by worker processes."""
        total = sum(found[p].st_size for p in paths)
        workers = min(MAX_SCAN_WORKERS, usable_cpus())
        if workers < 2 or total < PARALLEL_MIN_BYTES:
            for path in paths:
                yield path, self._parse(path, 0, places[path])
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
            sys.stderr.write(f"usage-bridge: worker processes failed ({error!r}); scanning in-process\n")
            for task in tasks[done:]:
                for path in task:
                    yield path, self._parse(path, 0, places[path])

    @staticmethod
    def _advance(state: FileState, st: os.stat_result, result: Parsed) -> None:
        state.offset += result.consumed
        state.size = st.st_size
        state.mtime_ns = st.st_mtime_ns
        if result.consumed:
            state.tail = _read_tail(state.path, state.offset)

    def _place(self, path: str) -> Place:
        """Where a file's entries count (parse.place_of: its project, its session as ccusage
        names it, its Claude Code session), as indexes into this store's tables."""
        name, project_path, session_id, claude = place_of(path, self._bases)
        project = self._project_index.get(name)
        if project is None:
            project = self._project_index[name] = len(self.projects)
            self.projects.append(name)
        session = self._session_index.get((project_path, session_id))
        if session is None:
            session = self._session_index[(project_path, session_id)] = len(self.sessions)
            self.sessions.append((project_path, session_id, project))
        return Place(project, session, claude)

    def changed_since_read(self, claude: str) -> bool:
        """Whether a file of this Claude Code session changed since it was read (one stat per
        file), or the session is not known yet."""
        paths = self.claude_files.get(claude)
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

    def _claude_session_of(self, path: str) -> Optional[str]:
        """Claude Code's session id of a log file: `projects/<project>/<id>.jsonl`, or a subagent's
        `projects/<project>/<id>/subagents/<agent>.jsonl` (its cost is the session's too)."""
        for base, _exists in self.projects_dirs():
            relative = os.path.relpath(path, base)
            if not relative.startswith(".."):
                parts = relative.split(os.sep)
                if len(parts) == 2:
                    return parts[1][: -len(".jsonl")]
                return parts[1] if len(parts) > 2 else None
        return None

    def _merge(self, parsed: Parsed, place: Optional[Place] = None) -> None:
        """Adds parsed entries in order; a key seen before (in an earlier file) is a duplicate.

        A duplicate of another project's entry still counts for its own project when a report is
        filtered to that project (ccusage filters files by project, then de-duplicates), once."""
        self.malformed_lines += parsed.malformed
        self.duplicates += parsed.duplicates
        if parsed.limit_resets_at_ms is not None and (
            self.limit_resets_at_ms is None or parsed.limit_resets_at_ms > self.limit_resets_at_ms
        ):
            self.limit_resets_at_ms = parsed.limit_resets_at_ms
        project, session, claude = (place.project, place.session, place.claude) if place else (0, 0, None)
        remap = []
        for name in parsed.models:
            index = self._model_index.get(name)
            if index is None:
                index = self._model_index[name] = len(self.models)
                self.models.append(name)
            remap.append(index)
        seen, entries, pending, aggregates = self._seen, self.entries, self._pending, self.aggregates
        entry_projects, cross = entries.project, self._cross_seen
        append, add, add_cross = entries.append, aggregates.add, aggregates.add_cross
        ts_col, inp_col, out_col, cc_col, cr_col = parsed.ts, parsed.inp, parsed.out, parsed.cache_create, parsed.cache_read
        cost_col, model_col, keys = parsed.cost, parsed.model, parsed.keys
        # This read's sums: per model for its session (a file is one session), and in all for its
        # Claude Code session.
        by_model: Dict[int, List[float]] = {}
        s_inp = s_out = s_cc = s_cr = s_n = 0
        s_cost = 0.0
        s_last = -(2**62)
        for i in range(len(keys)):
            key = keys[i]
            ts, inp, out, cc, cr, cost = ts_col[i], inp_col[i], out_col[i], cc_col[i], cr_col[i], cost_col[i]
            model = remap[model_col[i]]
            if key != NO_KEY:
                slot = seen.get(key)
                if slot is not None:
                    self.duplicates += 1
                    if entry_projects[slot] != project and (key, project) not in cross:
                        cross.add((key, project))
                        add_cross(ts, inp, out, cc, cr, cost, model, project, session)
                    continue
            slot = append(ts, inp, out, cc, cr, cost, model, project)
            add(ts, inp, out, cc, cr, cost, model, project)
            m = by_model.get(model)
            if m is None:
                by_model[model] = [inp, out, cc, cr, cost]
            else:
                m[0] += inp
                m[1] += out
                m[2] += cc
                m[3] += cr
                m[4] += cost
            s_inp += inp
            s_out += out
            s_cc += cc
            s_cr += cr
            s_cost += cost
            s_n += 1
            if ts > s_last:
                s_last = ts
            if key != NO_KEY:
                seen[key] = slot
            pending.append(slot)
        if s_n:
            aggregates.add_session(session, by_model, s_last)
        if claude is not None and s_n:
            total = self.claude_sessions.get(claude)
            if total is None:
                self.claude_sessions[claude] = [s_inp, s_out, s_cc, s_cr, s_cost, s_n, s_last]
            else:
                for k, value in enumerate((s_inp, s_out, s_cc, s_cr, s_cost, s_n)):
                    total[k] += value
                total[6] = max(total[6], s_last)

    def take_new_entries(self) -> List[int]:
        pending, self._pending = self._pending, []
        return pending
