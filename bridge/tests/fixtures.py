"""Builders for Claude Code log lines and trees, written the way Claude Code writes them."""

import json
import os
from datetime import datetime, timedelta, timezone
from typing import Optional

BASE = datetime(2026, 11, 20, 9, 14, 7, 902000, tzinfo=timezone.utc)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def assistant_line(
    when: datetime,
    inp: int = 10,
    out: int = 100,
    cache_create: int = 0,
    cache_read: int = 0,
    model: str = "claude-sonnet-4-5-20250929",
    message_id: Optional[str] = "msg_1",
    request_id: Optional[str] = "req_1",
    sidechain: bool = False,
    **extra,
) -> str:
    message = {
        "model": model,
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "..."}],
        "usage": {
            "input_tokens": inp,
            "cache_creation_input_tokens": cache_create,
            "cache_read_input_tokens": cache_read,
            "output_tokens": out,
        },
    }
    if message_id is not None:
        message["id"] = message_id
    line = {
        "parentUuid": "p",
        "isSidechain": sidechain,
        "sessionId": "s-1",
        "type": "assistant",
        "uuid": "u",
        "timestamp": iso(when),
        "message": message,
    }
    if request_id is not None:
        line["requestId"] = request_id
    line.update(extra)
    return json.dumps(line, separators=(",", ":"))


def limit_line(when: datetime, reset_epoch: int) -> str:
    return json.dumps(
        {
            "type": "assistant",
            "timestamp": iso(when),
            "isApiErrorMessage": True,
            "message": {
                "id": "msg_err",
                "model": "<synthetic>",
                "content": [{"type": "text", "text": f"Claude AI usage limit reached|{reset_epoch}"}],
                "usage": {"input_tokens": 0, "output_tokens": 0},
            },
        },
        separators=(",", ":"),
    )


def user_line(when: datetime) -> str:
    return json.dumps({"type": "user", "timestamp": iso(when), "message": {"role": "user", "content": "hi"}})


def write(root: str, relative: str, lines, mode: str = "w", end: str = "\n") -> str:
    path = os.path.join(root, "projects", relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode, encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + end)
    return path


def at(hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    return BASE + timedelta(hours=hours, minutes=minutes, seconds=seconds)
