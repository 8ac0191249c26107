"""ISO-8601 timestamps to epoch milliseconds, fast and strict (the same shape ccusage accepts)."""

import re
from datetime import datetime, timezone
from typing import Dict, Optional

_ISO = re.compile(
    r"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)"
    r"(?:\.(\d{1,9}))?(Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)$"
)
_EPOCH_DAYS: Dict[str, int] = {}
_EPOCH = datetime(1970, 1, 1).toordinal()


def parse_iso_ms(text: str) -> Optional[int]:
    """Epoch ms of an ISO-8601 timestamp with a zone, or None when it is not one."""
    match = _ISO.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    date_key = text[:10]
    days = _EPOCH_DAYS.get(date_key)
    if days is None:
        try:
            days = datetime(int(year), int(month), int(day)).toordinal() - _EPOCH
        except ValueError:  # 31 February and friends
            return None
        _EPOCH_DAYS[date_key] = days
    ms = (((days * 24 + int(hour)) * 60 + int(minute)) * 60 + int(second)) * 1000
    if fraction:
        # JavaScript's Date keeps milliseconds and drops the rest; so do we.
        ms += int((fraction + "00")[:3])
    if zone != "Z":
        sign = -1 if zone[0] == "+" else 1
        digits = zone[1:].replace(":", "")
        offset_minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
        ms += sign * offset_minutes * 60_000
    return ms


def iso_ms(ms: int) -> str:
    """Epoch ms as JavaScript's `toISOString()` writes it (UTC, milliseconds, `Z`)."""
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)
