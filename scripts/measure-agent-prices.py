#!/usr/bin/env python3
"""Measures the per-token prices ccusage (the pinned binary, offline) charges for other agents'
models, through each agent's own reader, and prints them as entries of bridge/pricing.json.

ccusage 20 embeds LiteLLM's and models.dev's tables in its binary (compressed: they cannot be read
out), and its adapters look a model up their own ways (Gemini tries `google/<model>` first, OpenCode
`<provider>/<model>`). Asking the binary what one event of known tokens costs is the only way to be
sure our table prices as it does: a rate is the cost of 1,000 tokens of one kind; a tier is found by
bisection on the prompt size, and its kind ("part": only the tokens above the threshold cost more,
per token kind — Claude's rule; "prompt": once the prompt passes it, every token of the event costs
the higher rate — OpenAI's and Google's) by one more event past it.

    node_modules/.bin/ccusage must be installed (npm ci).
    python3 scripts/measure-agent-prices.py codex:gpt-5.1-codex gemini:gemini-2.5-pro \
        opencode:anthropic/claude-sonnet-4-5 amp:claude-opus-4-5
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from typing import Dict, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "node_modules", "ccusage", "src", "cli.js")


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _report(env: Dict[str, str], agent: str) -> dict:
    full = {"PATH": os.environ["PATH"], "TZ": "UTC", **env}
    done = subprocess.run(["node", CLI, agent, "daily", "--json", "--offline"], env=full,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _cost(totals: dict) -> float:
    return float(totals.get("costUSD", totals.get("totalCost", 0.0)))


def cost(agent: str, model: str, inp: int = 0, out: int = 0, cache_read: int = 0, cache_write: int = 0) -> float:
    """What ccusage charges for one event of `agent` with these tokens (input: uncached)."""
    home = tempfile.mkdtemp(prefix="price-")
    try:
        if agent == "codex":
            os.makedirs(os.path.join(home, "sessions"))
            lines = [
                {"timestamp": "2026-12-01T10:00:00.000Z", "type": "turn_context", "payload": {"model": model}},
                {"timestamp": "2026-12-01T10:00:01.000Z", "type": "event_msg", "payload": {"type": "token_count", "info": {
                    "last_token_usage": {"input_tokens": inp + cache_read, "cached_input_tokens": cache_read,
                                         "output_tokens": out, "reasoning_output_tokens": 0,
                                         "total_tokens": inp + cache_read + out}}}},
            ]
            with open(os.path.join(home, "sessions", "rollout-price.jsonl"), "w") as handle:
                handle.writelines(_compact(line) + "\n" for line in lines)
            return _cost(_report({"HOME": home, "CODEX_HOME": home}, "codex")["totals"])
        if agent == "gemini":
            chats = os.path.join(home, "tmp", "project", "chats")
            os.makedirs(chats)
            tokens = {"input": inp + cache_read, "output": out, "cached": cache_read, "thoughts": 0, "tool": 0,
                      "total": inp + cache_read + out}
            with open(os.path.join(chats, "session-price.jsonl"), "w") as handle:
                handle.write(_compact({"sessionId": "price", "projectHash": "project"}) + "\n")
                handle.write(_compact({"id": "m", "timestamp": "2026-12-01T10:00:00.000Z", "type": "gemini",
                                       "content": [], "tokens": tokens, "model": model}) + "\n")
            return _cost(_report({"HOME": home, "GEMINI_DATA_DIR": os.path.join(home, "tmp")}, "gemini")["totals"])
        if agent == "amp":
            threads = os.path.join(home, "threads")
            os.makedirs(threads)
            message = {"role": "assistant", "messageId": 1, "usage": {
                "model": model, "timestamp": "2026-12-01T10:00:00.000Z", "inputTokens": inp, "outputTokens": out,
                "cacheCreationInputTokens": cache_write, "cacheReadInputTokens": cache_read,
                "totalTokens": inp + out + cache_write + cache_read}}
            with open(os.path.join(threads, "T-price.json"), "w") as handle:
                handle.write(_compact({"v": 1, "id": "T-price", "created": 1764583200000, "messages": [message]}))
            return _cost(_report({"HOME": home, "AMP_DATA_DIR": home}, "amp")["totals"])
        provider, _, name = model.partition("/")
        db = sqlite3.connect(os.path.join(home, "opencode.db"))
        db.execute("CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, data TEXT NOT NULL)")
        data = {"role": "assistant", "modelID": name, "providerID": provider, "cost": 0,
                "tokens": {"input": inp, "output": out, "reasoning": 0, "cache": {"read": cache_read, "write": cache_write}},
                "time": {"created": 1764583200000}}
        db.execute("INSERT INTO message VALUES ('msg_price', 'ses_price', ?)", (_compact(data),))
        db.commit()
        db.close()
        return _cost(_report({"HOME": home, "OPENCODE_DATA_DIR": home}, "opencode")["totals"])
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _rate(value: float, tokens: int) -> float:
    return float(f"{value / tokens:.12g}")


def measure(agent: str, model: str) -> Optional[dict]:
    small = 1000
    base = {
        "input_cost_per_token": _rate(cost(agent, model, inp=small), small),
        "output_cost_per_token": _rate(cost(agent, model, out=small), small),
        "cache_read_input_token_cost": _rate(cost(agent, model, cache_read=small), small),
    }
    if agent in ("opencode", "amp"):
        base["cache_creation_input_token_cost"] = _rate(cost(agent, model, cache_write=small), small)
    if base["input_cost_per_token"] == 0 and base["output_cost_per_token"] == 0:
        return None
    # A tier: the smallest prompt whose input costs more than the base rate (up to 2M tokens).
    rate = base["input_cost_per_token"]
    top = 2_000_000
    if abs(cost(agent, model, inp=top) - top * rate) < 1e-9:
        return base
    low, high = small, top
    while high - low > 1:
        middle = (low + high) // 2
        if abs(cost(agent, model, inp=middle) - middle * rate) < 1e-9:
            low = middle
        else:
            high = middle
    threshold = low
    big = threshold * 2
    whole = cost(agent, model, inp=big)
    above_input = _rate(cost(agent, model, inp=big + small) - whole, small)
    mode = "prompt" if abs(whole - big * above_input) < 1e-9 else "part"
    tier = {"threshold_tokens": threshold, "mode": mode, "input_cost_per_token": above_input}
    if mode == "prompt":
        tier["output_cost_per_token"] = _rate(cost(agent, model, inp=big, out=small) - whole, small)
        read = cost(agent, model, inp=big - small, cache_read=small) - cost(agent, model, inp=big - small)
        tier["cache_read_input_token_cost"] = _rate(read, small)
        if agent in ("opencode", "amp"):
            tier["cache_creation_input_token_cost"] = _rate(
                cost(agent, model, inp=big, cache_write=small) - whole, small)
    else:
        # Each kind of token past the threshold on its own.
        for key, kind in (("output_cost_per_token", "out"), ("cache_read_input_token_cost", "cache_read"),
                          ("cache_creation_input_token_cost", "cache_write")):
            if kind == "cache_write" and agent not in ("opencode", "amp"):
                continue
            at = cost(agent, model, **{kind: big})
            tier[key] = _rate(cost(agent, model, **{kind: big + small}) - at, small)
    return {**base, "above": tier}


def main(argv) -> int:
    found = {}
    for spec in argv:
        agent, _, model = spec.partition(":")
        if agent not in ("codex", "gemini", "opencode", "amp") or not model:
            print(f"not agent:model: {spec}", file=sys.stderr)
            return 2
        found[model] = measure(agent, model)
    print(json.dumps(found, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
