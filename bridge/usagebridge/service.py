"""The bridge's state: a background refresher over the log store, and immutable views for readers."""

import threading
from bisect import bisect_left
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .agents.store import AgentStore, AgentSums
from .log import log
from .blocks import Block, Timeline
from .pricing import PriceTable
from .reports import build_report, build_sessions_report
from .store import LogStore
from .timeparse import iso_ms


def _clone(block: Block) -> Block:
    copy = Block.__new__(Block)
    for name in Block.__slots__:
        setattr(copy, name, getattr(block, name))
    copy.models = set(block.models)
    return copy


class _Beside:
    """A call run in a thread of its own; result() waits for it (and raises what it raised)."""

    def __init__(self, call: Callable[[], bool]) -> None:
        self._value = False
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, args=(call,), name="agents", daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], bool]) -> None:
        try:
            self._value = call()
        except BaseException as error:  # handed to the caller of result()
            self._error = error

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> bool:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


# The status line's session read refreshes first when the last refresh is older than this.
ON_DEMAND_REFRESH_S = 0.1

@dataclass(frozen=True)
class View:
    """What readers see: replaced whole after each refresh, never mutated."""

    blocks: List[Block] = field(default_factory=list)
    models: List[str] = field(default_factory=list)
    files: int = 0
    entries: int = 0
    duplicates: int = 0
    malformed_lines: int = 0
    limit_resets_at_ms: Optional[int] = None
    ready: bool = False
    #: Other agents' figures (agents.store): their generation, counted events, sources.
    agents_generation: int = 0


class UsageService:
    def __init__(
        self,
        data_dirs: List[str],
        prices: PriceTable,
        refresh_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        agents: Optional[AgentStore] = None,
    ) -> None:
        self.data_dirs = data_dirs
        self.prices = prices
        # Codex's, Gemini CLI's and OpenCode's usage (none: Claude Code's alone).
        self.agents = agents
        self.store = LogStore(data_dirs, prices)
        self.timeline = Timeline(self.store.entries)
        self.rebuilds = 0
        # Entry indices sorted by time (for window sums), and the store and length they cover.
        self._by_time: List[int] = []
        self._by_time_ts: List[int] = []
        # (store, entries covered)
        self._by_time_of: Tuple[int, int] = (-1, 0)
        self.refresh_interval = refresh_interval
        self._refreshed_at = 0.0
        self.clock = clock
        self.view = View()
        self.started_at = clock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        # `_refresh_lock` guards the store and the view (held for an incremental read, a report, a
        # swap: milliseconds); `_refreshing` makes refreshes take turns (held for a whole refresh,
        # a background rebuild included, which reads never wait for).
        self._refresh_lock = threading.Lock()
        self._refreshing = threading.Lock()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def refresh(self, wait: bool = True) -> bool:
        """One refresh: read what changed, update the blocks, publish a new view if anything did.

        A deleted or rewritten file makes the store stale: a new one is built from the files as
        they are, outside the data lock — reports, sessions and the view keep answering from the
        old store meanwhile — and swapped in when complete. `wait=False` returns at once (False)
        when another refresh is under way."""
        if not self._refreshing.acquire(blocking=wait):
            return False
        agents = None
        try:
            self._refreshed_at = time.monotonic()
            # Other agents' data is read beside Claude Code's (a cold start reads both at once);
            # their sums are built aside and swapped in whole: reports read them unlocked.
            agents = _Beside(self.agents.refresh) if self.agents is not None else None
            found = self.store.walk()
            with self._refresh_lock:
                stale = self.store.stale(found)
            if stale:
                if agents is not None:
                    agents.result()
                self._rebuild()
                return True
            with self._refresh_lock:
                store = self.store
                report = store.refresh(found)
                before = self.timeline.version
                self.timeline.update(store.take_new_entries(), store.take_replaced())
            agents_changed = agents.result() if agents is not None else False
            with self._refresh_lock:
                unchanged = (
                    self.view.ready
                    and not agents_changed
                    and not report.rebuilt
                    and self.timeline.version == before
                    and (self.view.files, self.view.malformed_lines, self.view.duplicates)
                    == (report.files, store.malformed_lines, store.duplicates)
                )
                if not unchanged:
                    self._publish(store, report.files)
            return True
        finally:
            # Never two readers of the agents' data at once: a failed refresh waits for it too.
            if agents is not None:
                agents.wait()
            self._refreshing.release()

    def _rebuild(self) -> None:
        """A new store from the files as they are now, built without the data lock, then swapped."""
        fresh = LogStore(self.data_dirs, self.prices)
        fresh.generation = self.store.generation + 1
        report = fresh.refresh()
        timeline = Timeline(fresh.entries)
        timeline.add(fresh.take_new_entries())
        fresh.take_replaced()
        with self._refresh_lock:
            fresh.scans += self.store.scans
            fresh.bytes_read_total += self.store.bytes_read_total
            self.store = fresh
            self.timeline = timeline
            self.rebuilds += 1
            self._publish(fresh, report.files)

    def _publish(self, store: LogStore, files: int) -> None:
        self.view = View(
            blocks=[_clone(b) for b in self.timeline.blocks],
            models=list(store.models),
            files=files,
            entries=len(store.entries),
            duplicates=store.duplicates,
            malformed_lines=store.malformed_lines,
            limit_resets_at_ms=store.limit_resets_at_ms,
            ready=True,
            agents_generation=self.agents.generation if self.agents is not None else 0,
        )

    def claude_session(self, session_id: str) -> dict:
        """One Claude Code session's sums. Asked for right after a message (the status line), so
        when one of the session's files changed since it was read (a stat per file), the store is
        refreshed first; an unknown session refreshes at most once per ON_DEMAND_REFRESH_S (a
        refresh without changes costs a few ms for 2,000 files)."""
        with self._refresh_lock:
            known = bool(self.store.claude_files.get(session_id))
            changed = self.store.changed_since_read(session_id)
        if changed and (known or time.monotonic() - self._refreshed_at > ON_DEMAND_REFRESH_S):
            # Not behind a rebuild under way: the status line answers from what is known.
            self.refresh(wait=False)
        with self._refresh_lock:
            sums = self.store.claude_session(session_id)
            found = sums is not None
            sums = sums or [0, 0, 0, 0, 0.0, 0, None]
        return {
            "session_id": session_id,
            "found": found,
            "input_tokens": int(sums[0]),
            "output_tokens": int(sums[1]),
            "cache_creation_tokens": int(sums[2]),
            "cache_read_tokens": int(sums[3]),
            "total_tokens": int(sums[0] + sums[1] + sums[2] + sums[3]),
            "cost_usd": sums[4],
            "entries": int(sums[5]),
            "last_activity": iso_ms(int(sums[6])) if found else None,
        }

    def window_sums(self, ranges: List[Tuple[int, int]], agent: str = "claude") -> List[dict]:
        """Usage inside each [since, until) (epoch ms): tokens, cost and entries, in all and per
        model — what the official 5-hour and 7-day windows held by our count (Claude Code's, or
        another agent's). Entries are kept sorted by time (appends extend the order; a rebuilt
        store sorts again)."""
        if agent != "claude":
            sums = self.agents.sums[agent] if self.agents is not None else None
            if sums is None:
                return [AgentSums(agent).window(since, until) for since, until in ranges]
            return [sums.window(since, until) for since, until in ranges]
        with self._refresh_lock:
            store = self.store
            entries = store.entries
            count = len(entries)
            covered_store, covered = self._by_time_of
            moved = store.take_moved_slots()
            if covered_store != id(store) or covered > count:
                covered = 0
                self._by_time, self._by_time_ts = [], []
            ts = entries.ts
            if moved:
                # Entries whose counted line was replaced by a later one: out, and in again at
                # their new time.
                slots = {slot for slot in moved if slot < covered}
                if slots:
                    # Timsort takes the (still sorted) rest plus a few in about linear time.
                    order = sorted([i for i in self._by_time if i not in slots] + list(slots), key=ts.__getitem__)
                    self._by_time, self._by_time_ts = order, [ts[i] for i in order]
            if covered < count:
                new = sorted(range(covered, count), key=ts.__getitem__)
                if self._by_time_ts and new and ts[new[0]] < self._by_time_ts[-1]:
                    order = sorted(self._by_time + new, key=ts.__getitem__)
                    self._by_time, self._by_time_ts = order, [ts[i] for i in order]
                else:
                    self._by_time.extend(new)
                    self._by_time_ts.extend(ts[i] for i in new)
            self._by_time_of = (id(store), count)
            order, order_ts = self._by_time, self._by_time_ts
            results = []
            for since, until in ranges:
                total = {"input_tokens": 0, "output_tokens": 0, "cache_creation_tokens": 0, "cache_read_tokens": 0,
                         "cost_usd": 0.0, "entries": 0}
                models: Dict[str, dict] = {}
                for k in range(bisect_left(order_ts, since), bisect_left(order_ts, until)):
                    i = order[k]
                    name = store.models[entries.model[i]]
                    m = models.get(name)
                    if m is None:
                        m = models[name] = {"model": name, "input_tokens": 0, "output_tokens": 0,
                                            "cache_creation_tokens": 0, "cache_read_tokens": 0, "cost_usd": 0.0, "entries": 0}
                    for target in (total, m):
                        target["input_tokens"] += entries.inp[i]
                        target["output_tokens"] += entries.out[i]
                        target["cache_creation_tokens"] += entries.cache_create[i]
                        target["cache_read_tokens"] += entries.cache_read[i]
                        target["cost_usd"] += entries.cost[i]
                        target["entries"] += 1
                for target in (total, *models.values()):
                    target["total_tokens"] = (target["input_tokens"] + target["output_tokens"]
                                              + target["cache_creation_tokens"] + target["cache_read_tokens"])
                    target["cost_usd"] = round(target["cost_usd"], 6)
                results.append({"since": iso_ms(since), "until": iso_ms(until), **total,
                                "models": sorted(models.values(), key=lambda m: -m["cost_usd"])})
            return results

    def report(self, kind: str, zone, **options) -> dict:
        """A report from the store's running sums, read between two refreshes (never mid-update)."""
        with self._refresh_lock:
            store = self.store
            if kind == "sessions":
                options.pop("start_of_week", None)
                return build_sessions_report(store, zone, agents=self.agents, **options)
            return build_report(store, kind, zone, agents=self.agents, **options)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="refresher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.refresh()
            except Exception as error:  # keep serving the last good view
                try:
                    log(f"refresh failed: {error!r}")
                except OSError:  # stderr gone with the parent; the parent watch stops us
                    pass
            elapsed = time.monotonic() - started
            self._stop.wait(max(0.05, self.refresh_interval - elapsed))

    def stop(self) -> None:
        self._stop.set()
