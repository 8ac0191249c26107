"""Payloads of the bridge API (docs/design.md §6) computed from blocks: sessions, stats, predictions."""

import json
import os
from datetime import datetime, timezone
from typing import Dict, List, Optional

from .blocks import BLOCK_MS, SYNTHETIC_MODEL, Block
from .timeparse import iso_ms


def _load_plans() -> Dict[str, Dict[str, float]]:
    """Tokens / USD / messages per 5-hour block (docs/design.md §6): bridge/plans.json, which the
    gateway reads too for its well-formed defaults."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plans.json")
    with open(path, "r", encoding="utf-8") as handle:
        table = json.load(handle)["plans"]
    return {
        name: {"tokens": limits["tokens"], "cost": float(limits["cost_usd"]), "messages": limits["messages"]}
        for name, limits in table.items()
    }


PLANS: Dict[str, Dict[str, float]] = _load_plans()
P90_WINDOW_MS = 192 * 3_600_000


def limit_tokens(block: Block) -> int:
    """Tokens that count against a plan's limit: input + output. Cache reads and writes are
    reported (they dominate totals) but plan limits, as Claude-Code-Usage-Monitor uses them,
    are about the tokens a request generates and sends."""
    return block.inp + block.out


def block_payload(block: Block, models: List[str], now_ms: int) -> dict:
    active = block.is_active(now_ms)
    payload = {
        "id": ("gap-" if block.is_gap else "") + iso_ms(block.start),
        "start_time": iso_ms(block.start),
        "end_time": iso_ms(block.end),
        "actual_end_time": None if block.is_gap else iso_ms(block.last),
        "is_active": active,
        "is_gap": block.is_gap,
        "entries": block.count,
        "token_counts": {
            "input_tokens": block.inp,
            "output_tokens": block.out,
            "cache_creation_tokens": block.cc,
            "cache_read_tokens": block.cr,
        },
        "total_tokens": block.total_tokens,
        "cost_usd": block.cost,
        "models": sorted(models[m] for m in block.models if models[m] != SYNTHETIC_MODEL),
        "sent_messages_count": block.count,
        "burn_rate": None,
        "projection": None,
    }
    if active:
        rate = burn_rate(block)
        if rate is not None:
            payload["burn_rate"] = rate
            remaining_min = max(0.0, (block.end - now_ms) / 60_000)
            payload["projection"] = {
                "total_tokens": round(block.total_tokens + rate["tokens_per_minute"] * remaining_min),
                "total_cost": block.cost + rate["cost_per_hour"] / 60 * remaining_min,
                "remaining_minutes": round(remaining_min, 3),
            }
    return payload


def burn_rate(block: Block) -> Optional[dict]:
    """Tokens per minute between the block's first and last entry (ccusage's rule)."""
    minutes = (block.last - block.first) / 60_000
    if block.count == 0 or minutes <= 0:
        return None
    return {
        "tokens_per_minute": block.total_tokens / minutes,
        "limit_tokens_per_minute": limit_tokens(block) / minutes,
        "cost_per_hour": block.cost / minutes * 60,
    }


def percentile(values: List[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * q
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def plan_limits(plan: str, custom_limit_tokens: Optional[int], blocks: List[Block], now_ms: int) -> Dict[str, float]:
    if plan in PLANS:
        return dict(PLANS[plan])
    pro = PLANS["pro"]
    completed = [
        b for b in blocks if not b.is_gap and not b.is_active(now_ms) and b.start >= now_ms - P90_WINDOW_MS
    ]
    tokens = custom_limit_tokens
    if tokens is None:
        tokens = max(pro["tokens"], percentile([limit_tokens(b) for b in completed], 0.9)) if completed else pro["tokens"]
    return {
        "tokens": tokens,
        "cost": max(pro["cost"], percentile([b.cost for b in completed], 0.9)) if completed else pro["cost"],
        "messages": max(pro["messages"], percentile([b.count for b in completed], 0.9)) if completed else pro["messages"],
    }


def _pct(value: float, limit: float) -> float:
    return round(value / limit * 100, 2) if limit > 0 else 0.0


def local_iso(ms: Optional[int], zone) -> Optional[str]:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone(zone).isoformat()


def stats_payload(
    blocks: List[Block],
    models: List[str],
    now_ms: int,
    config: dict,
    zone,
    limit_resets_at_ms: Optional[int],
    recent: int = 10,
) -> dict:
    current = next((b for b in reversed(blocks) if b.is_active(now_ms)), None)
    limits = plan_limits(config["plan"], config.get("custom_limit_tokens"), blocks, now_ms)
    tokens = limit_tokens(current) if current else 0
    cost = current.cost if current else 0.0
    messages = current.count if current else 0
    rate = burn_rate(current) if current else None

    tokens_run_out = None
    if current and rate and rate["limit_tokens_per_minute"] > 0:
        if tokens >= limits["tokens"]:
            tokens_run_out = iso_ms(now_ms)
        else:
            minutes_left = (limits["tokens"] - tokens) / rate["limit_tokens_per_minute"]
            run_out = now_ms + round(minutes_left * 60_000)
            tokens_run_out = iso_ms(run_out) if run_out < current.end else None
    resets = None
    if limit_resets_at_ms is not None and limit_resets_at_ms > now_ms:
        resets = limit_resets_at_ms
    elif current:
        resets = current.end

    return {
        "current_session": block_payload(current, models, now_ms) if current else None,
        "recent_sessions": [block_payload(b, models, now_ms) for b in blocks[-recent:]],
        "predictions": {
            "tokens_run_out": tokens_run_out,
            "limit_resets_at": iso_ms(resets) if resets is not None else None,
            "limit_resets_at_local": local_iso(resets, zone),
        },
        "burn_rate": {
            "tokens_per_minute": rate["tokens_per_minute"] if rate else 0.0,
            "cost_per_hour": rate["cost_per_hour"] if rate else 0.0,
        },
        "totals": {
            "tokens": tokens,
            "cost_usd": cost,
            "messages": messages,
            "token_percentage": _pct(tokens, limits["tokens"]),
            "cost_percentage": _pct(cost, limits["cost"]),
            "message_percentage": _pct(messages, limits["messages"]),
            "time_to_reset_percentage": round(min(100.0, (now_ms - current.start) / BLOCK_MS * 100), 2)
            if current
            else 0.0,
        },
        "config_applied": {
            "plan": config["plan"],
            "custom_limit_tokens": config.get("custom_limit_tokens"),
            "timezone": config["timezone"],
            "reset_hour": config.get("reset_hour"),
            "limits": {"tokens": int(limits["tokens"]), "cost_usd": limits["cost"], "messages": int(limits["messages"])},
        },
    }


def sessions_payload(
    blocks: List[Block], models: List[str], now_ms: int, hours_back: int, limit: int, session_id: Optional[str]
) -> dict:
    since = now_ms - hours_back * 3_600_000
    # By start time, as ccusage 20 lists them (a gap that ends after the next block starts — its
    # start floored to the hour — comes after that block).
    chosen = sorted((b for b in blocks if (b.last if not b.is_gap else b.end) >= since), key=lambda b: b.start)
    payloads = [block_payload(b, models, now_ms) for b in chosen]
    if session_id is not None:
        payloads = [p for p in payloads if p["id"] == session_id]
    total = len(payloads)
    return {
        "sessions": payloads[-limit:],
        "total_count": total,
        "hours_back": hours_back,
        "limit": limit,
        "session_id": session_id,
    }
