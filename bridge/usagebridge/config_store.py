"""The usage config (plan, limits, zone, theme), validated and persisted atomically."""

import json
import os
import tempfile
import threading
from datetime import datetime, timezone
from typing import Dict, List, Optional, Tuple

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # pragma: no cover - Python < 3.9 is refused at start-up
    ZoneInfo = None  # type: ignore

PLANS = ("pro", "max5", "max20", "custom")
THEMES = ("auto", "light", "dark", "classic")
DEFAULT_CONFIG = {
    "plan": "pro",
    "custom_limit_tokens": None,
    "timezone": "UTC",
    "reset_hour": None,
    "theme": "auto",
}
FIELDS = tuple(DEFAULT_CONFIG)


def zone_for(name: str):
    """The IANA zone, or None when the name is not one."""
    if not isinstance(name, str) or not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(values: Dict[str, object], partial: bool) -> Tuple[Dict[str, object], List[Dict[str, str]]]:
    """Returns (clean values, errors); every bad field is listed."""
    errors: List[Dict[str, str]] = []
    clean: Dict[str, object] = {}
    for key in values:
        if key not in FIELDS and key != "updated_at":
            errors.append({"field": key, "message": "unknown field"})
    for key in FIELDS:
        if key not in values:
            if not partial:
                clean[key] = DEFAULT_CONFIG[key]
            continue
        value = values[key]
        if key == "plan" and value not in PLANS:
            errors.append({"field": key, "message": f"must be one of {', '.join(PLANS)}"})
        elif key == "custom_limit_tokens" and value is not None and not (_is_int(value) and value > 0):
            errors.append({"field": key, "message": "must be a positive integer or null"})
        elif key == "timezone" and zone_for(value) is None:  # type: ignore[arg-type]
            errors.append({"field": key, "message": "must be an IANA time zone such as Europe/Berlin"})
        elif key == "reset_hour" and value is not None and not (_is_int(value) and 0 <= value <= 23):
            errors.append({"field": key, "message": "must be an integer from 0 to 23, or null"})
        elif key == "theme" and value not in THEMES:
            errors.append({"field": key, "message": f"must be one of {', '.join(THEMES)}"})
        else:
            clean[key] = value
    return clean, errors


class ConfigStore:
    def __init__(self, state_dir: Optional[str]) -> None:
        # The server answers on several threads: one update at a time, so none is lost.
        self._lock = threading.Lock()
        self.path = os.path.join(state_dir, "config.json") if state_dir else None
        self.config = dict(DEFAULT_CONFIG, updated_at=None)
        if self.path and os.path.exists(self.path):
            try:
                with open(self.path, "r", encoding="utf-8") as handle:
                    stored = json.load(handle)
                clean, errors = validate({k: v for k, v in stored.items() if k != "updated_at"}, True)
                if not errors:
                    self.config.update(clean)
                    self.config["updated_at"] = stored.get("updated_at")
            except (OSError, ValueError):
                pass  # a damaged file is replaced on the next write

    def get(self) -> Dict[str, object]:
        return dict(self.config)

    def update(self, values: Dict[str, object]) -> Dict[str, object]:
        with self._lock:
            return self._update(values)

    def _update(self, values: Dict[str, object]) -> Dict[str, object]:
        updated = dict(self.config)
        updated.update(values)
        updated["updated_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        if self.path:
            directory = os.path.dirname(self.path)
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".config-", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(updated, handle, indent=2)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        self.config = updated
        return dict(updated)
