"""5-hour billing blocks, maintained incrementally as entries arrive (docs/design.md §6, ccusage's rules).

A block starts at its first entry's time floored to the hour (UTC). A new block starts when an entry
is more than 5 h after the block start or more than 5 h after the previous entry; a gap longer than
5 h between entries yields a gap block from last activity + 5 h to the next entry.
"""

import heapq
from array import array
from typing import List, Optional, Tuple

from .store import EntryColumns

HOUR_MS = 3_600_000
BLOCK_MS = 5 * HOUR_MS
SYNTHETIC_MODEL = "<synthetic>"


class Block:
    __slots__ = (
        "start", "end", "first", "last", "count", "inp", "out", "cc", "cr", "cost",
        "models", "order_pos", "is_gap",
    )

    def __init__(self, start: int, order_pos: int, is_gap: bool = False, end: Optional[int] = None) -> None:
        self.start = start
        self.end = end if end is not None else start + BLOCK_MS
        self.first = 0
        self.last = 0
        self.count = 0
        self.inp = self.out = self.cc = self.cr = 0
        self.cost = 0.0
        self.models: set = set()
        self.order_pos = order_pos
        self.is_gap = is_gap

    @property
    def total_tokens(self) -> int:
        return self.inp + self.out + self.cc + self.cr

    def is_active(self, now_ms: int) -> bool:
        return not self.is_gap and self.count > 0 and now_ms - self.last < BLOCK_MS and now_ms < self.end


class Timeline:
    """Entries in time order, and the blocks over them, updated with each batch of new entries."""

    def __init__(self, entries: EntryColumns) -> None:
        self.entries = entries
        self.order = array("q")
        self.blocks: List[Block] = []
        self.version = 0

    def add(self, new_indices: List[int]) -> None:
        self.update(new_indices, [])

    def update(self, new_indices: List[int], moved: List[Tuple[int, int]]) -> None:
        """New entries, and entries whose time changed (slot, time before) since the last update:
        a request's better line replaced the one counted (ccusage 20's rule)."""
        if not new_indices and not moved:
            return
        ts = self.entries.ts
        self.version += 1
        rewind = None
        if moved:
            # Out of the order at their old time; back in below at the new one.
            old = dict(moved)
            for slot, old_ts in moved:
                position = self._find(slot, old_ts, old)
                del self.order[position]
                del old[slot]
                rewind = position if rewind is None else min(rewind, position)
            new_indices = list(new_indices) + [slot for slot, _ in moved]
        batch = sorted(new_indices, key=ts.__getitem__)
        if rewind is None and (not self.order or ts[batch[0]] >= ts[self.order[-1]]):
            position = len(self.order)
            self.order.extend(batch)
            self._feed(position)
            return
        # Out of order (files appended concurrently, or a moved entry): merge into the tail,
        # recompute from the block that holds the earliest change. Existing entries come first
        # among equal times, as in ccusage's stable sort over its load order.
        position = self._bisect_right(ts[batch[0]])
        if rewind is not None:
            position = min(position, rewind)
        merged = list(heapq.merge(self.order[position:], batch, key=ts.__getitem__))
        del self.order[position:]
        self.order.extend(merged)
        self._rewind_to(position)

    def _find(self, slot: int, old_ts: int, old: dict) -> int:
        """Where `slot` stands in the order, which still sorts it (and the other moved slots in
        `old`) at its time before."""
        ts, order = self.entries.ts, self.order
        lo, hi = 0, len(order)
        while lo < hi:
            mid = (lo + hi) // 2
            at = old.get(order[mid], ts[order[mid]])
            if at < old_ts:
                lo = mid + 1
            else:
                hi = mid
        while order[lo] != slot:
            lo += 1
        return lo

    def _bisect_right(self, value: int) -> int:
        ts, order = self.entries.ts, self.order
        lo, hi = 0, len(order)
        while lo < hi:
            mid = (lo + hi) // 2
            if value < ts[order[mid]]:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _rewind_to(self, position: int) -> None:
        """Drops the blocks from the one containing `position` on, then feeds from its start."""
        k = len(self.blocks) - 1
        while k >= 0 and (self.blocks[k].is_gap or self.blocks[k].order_pos > position):
            k -= 1
        if k <= 0:
            self.blocks = []
            self._feed(0)
            return
        restart = self.blocks[k].order_pos
        prev = k - 1
        while prev >= 0 and self.blocks[prev].is_gap:
            prev -= 1
        del self.blocks[prev + 1 :]
        self._feed(restart)

    def _feed(self, position: int) -> None:
        e = self.entries
        ts, inp, out, cc, cr, cost, model = e.ts, e.inp, e.out, e.cache_create, e.cache_read, e.cost, e.model
        blocks = self.blocks
        current: Optional[Block] = None
        for b in reversed(blocks):
            if not b.is_gap:
                current = b
                break
        order = self.order
        for pos in range(position, len(order)):
            i = order[pos]
            t = ts[i]
            if current is None or t - current.start > BLOCK_MS or t - current.last > BLOCK_MS:
                if current is not None and t - current.last > BLOCK_MS:
                    blocks.append(Block(current.last + BLOCK_MS, pos, is_gap=True, end=t))
                current = Block(t - t % HOUR_MS, pos)
                current.first = t
                blocks.append(current)
            current.last = t
            current.count += 1
            current.inp += inp[i]
            current.out += out[i]
            current.cc += cc[i]
            current.cr += cr[i]
            current.cost += cost[i]
            current.models.add(model[i])
