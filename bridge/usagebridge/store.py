"""Incremental reader of Claude Code usage logs (`projects/**/*.jsonl`).

Each file is remembered by identity (device, inode), size, mtime and the byte offset read so far;
a refresh reads only appended bytes. A shrunk, replaced or deleted file makes the store start over
(rotation is rare; exactness matters more). A last line without its newline is left for later.

Entries are kept in compact typed arrays (one slot per entry) so a gigabyte of logs fits in well
under 300 MB, and de-duplicated on `message.id` + `requestId`, first seen wins, in the order
ccusage reads them (files by earliest timestamp, then line order), so totals agree with it.
"""

import json
import os
import re
import time
from array import array
from dataclasses import dataclass
from hashlib import blake2b
from typing import Dict, List, Optional, Tuple

from .pricing import PriceTable
from .timeparse import parse_iso_ms

READ_CHUNK = 8 * 1024 * 1024
_LIMIT_RESET = re.compile(r"usage limit reached\|(\d{9,11})", re.IGNORECASE)
_HEAD_TS = re.compile(rb'"timestamp"\s*:\s*"([^"]+)"')
# Claude Code writes compact JSON with the message id first; finding both ids without parsing lets
# the (frequent) repeated lines be skipped at a fraction of the cost of json.loads.
_MESSAGE_ID = re.compile(rb'"message":\{"id":"([^"\\]+)"')
_REQUEST_ID = re.compile(rb'"requestId":"([^"\\]+)"')


def dedupe_key(message_id: str, request_id: str) -> int:
    return int.from_bytes(blake2b(f"{message_id}:{request_id}".encode(), digest_size=8).digest(), "little")


def _is_count(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class FileState:
    path: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    offset: int


@dataclass
class ScanReport:
    files: int
    bytes_read: int
    new_entries: int
    rebuilt: bool
    duration_ms: float


class EntryColumns:
    """Column-wise storage of usage entries: time (epoch ms), four token counts, cost, model."""

    def __init__(self) -> None:
        self.ts = array("q")
        self.inp = array("q")
        self.out = array("q")
        self.cache_create = array("q")
        self.cache_read = array("q")
        self.cost = array("d")
        self.model = array("i")

    def __len__(self) -> int:
        return len(self.ts)

    def append(self, ts: int, inp: int, out: int, cc: int, cr: int, cost: float, model: int) -> int:
        self.ts.append(ts)
        self.inp.append(inp)
        self.out.append(out)
        self.cache_create.append(cc)
        self.cache_read.append(cr)
        self.cost.append(cost)
        self.model.append(model)
        return len(self.ts) - 1


class LogStore:
    def __init__(self, data_dirs: List[str], prices: PriceTable) -> None:
        self.data_dirs = data_dirs
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
                head = handle.read(64 * 1024)
        except OSError:
            return 2**62
        best = None
        for match in _HEAD_TS.finditer(head):
            ms = parse_iso_ms(match.group(1).decode("utf-8", "replace"))
            if ms is not None and (best is None or ms < best):
                best = ms
        return best if best is not None else 2**62

    # -- refresh -----------------------------------------------------------------------------

    def refresh(self) -> ScanReport:
        """Reads what changed since the last refresh; returns what it did."""
        started = time.perf_counter()
        found = self._walk()
        rebuilt = False
        for path, state in self.files.items():
            st = found.get(path)
            if st is None or (st.st_dev, st.st_ino) != (state.dev, state.ino) or st.st_size < state.offset:
                rebuilt = True
                break
        if rebuilt:
            self._reset()
            self.generation += 1

        new_paths = [p for p in found if p not in self.files]
        # New files in ccusage's order; files already known keep reading where they stopped.
        new_paths.sort(key=lambda p: (self._earliest_timestamp(p), p))
        bytes_read = 0
        before = len(self.entries)
        for path, state in list(self.files.items()):
            st = found[path]
            if st.st_size > state.offset:
                bytes_read += self._read_from(state, st)
        for path in new_paths:
            st = found[path]
            state = FileState(path, st.st_dev, st.st_ino, 0, st.st_mtime_ns, 0)
            self.files[path] = state
            bytes_read += self._read_from(state, st)

        self.bytes_read_total += bytes_read
        self.last_refresh_bytes = bytes_read
        duration = (time.perf_counter() - started) * 1000
        self.last_scan_ms = duration
        self.scans += 1
        return ScanReport(len(self.files), bytes_read, len(self.entries) - before, rebuilt, duration)

    def take_new_entries(self) -> List[int]:
        pending, self._pending = self._pending, []
        return pending

    def _read_from(self, state: FileState, st: os.stat_result) -> int:
        """Reads complete lines from the remembered offset; an unterminated tail waits."""
        start = state.offset
        read = consumed = 0
        carry = b""
        try:
            with open(state.path, "rb") as handle:
                handle.seek(start)
                while True:
                    chunk = handle.read(READ_CHUNK)
                    if not chunk:
                        break
                    read += len(chunk)
                    data = carry + chunk if carry else chunk
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        carry = data
                        continue
                    self._ingest(data[:cut])
                    consumed += cut + 1
                    carry = data[cut + 1 :]
        except OSError:
            pass
        state.offset = start + consumed
        state.size = st.st_size
        state.mtime_ns = st.st_mtime_ns
        return read

    def _ingest(self, block: bytes) -> None:
        seen = self._seen
        message_id_re, request_id_re = _MESSAGE_ID, _REQUEST_ID
        for line in block.split(b"\n"):
            if b'"usage"' not in line:
                stripped = line.strip()
                if stripped and not (stripped.startswith(b"{") and stripped.endswith(b"}")):
                    self.malformed_lines += 1
                continue
            m = message_id_re.search(line)
            if m is not None:
                r = request_id_re.search(line)
                if r is not None and dedupe_key(m.group(1).decode(), r.group(1).decode()) in seen:
                    self.duplicates += 1
                    continue
            try:
                obj = json.loads(line)
            except ValueError:
                self.malformed_lines += 1
                continue
            if isinstance(obj, dict):
                self._add(obj)

    def _add(self, obj: dict) -> None:
        timestamp = obj.get("timestamp")
        message = obj.get("message")
        if not isinstance(timestamp, str) or not isinstance(message, dict):
            return
        usage = message.get("usage")
        if not isinstance(usage, dict):
            return
        inp = usage.get("input_tokens")
        out = usage.get("output_tokens")
        if not _is_count(inp) or not _is_count(out):
            return
        cc = usage.get("cache_creation_input_tokens", 0)
        cr = usage.get("cache_read_input_tokens", 0)
        if cc is None:
            cc = 0
        if cr is None:
            cr = 0
        if not _is_count(cc) or not _is_count(cr):
            return
        ms = parse_iso_ms(timestamp)
        if ms is None:
            return
        message_id = message.get("id")
        request_id = obj.get("requestId")
        if isinstance(message_id, str) and message_id and isinstance(request_id, str) and request_id:
            key = dedupe_key(message_id, request_id)
            if key in self._seen:
                self.duplicates += 1
                return
        else:
            key = None

        if obj.get("isApiErrorMessage"):
            self._note_limit_reset(message)
        model = message.get("model")
        if not isinstance(model, str) or not model:
            model = "unknown"
        cost_field = obj.get("costUSD")
        inp, out, cc, cr = int(inp), int(out), int(cc), int(cr)
        cost = float(cost_field) if _is_count(cost_field) else self.prices.cost(model, inp, out, cc, cr)
        index = self._model_index.get(model)
        if index is None:
            index = self._model_index[model] = len(self.models)
            self.models.append(model)
        slot = self.entries.append(ms, inp, out, cc, cr, cost, index)
        if key is not None:
            self._seen[key] = slot
        self._pending.append(slot)

    def _note_limit_reset(self, message: dict) -> None:
        content = message.get("content")
        texts = []
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(part.get("text", "") for part in content if isinstance(part, dict))
        for text in texts:
            match = _LIMIT_RESET.search(text) if isinstance(text, str) else None
            if match:
                reset_ms = int(match.group(1)) * 1000
                if self.limit_resets_at_ms is None or reset_ms > self.limit_resets_at_ms:
                    self.limit_resets_at_ms = reset_ms
