#!/usr/bin/env python3
"""Writes synthetic homes of Codex, Gemini CLI and OpenCode in their own shapes (the bench's mixed
home, beside generate.py's Claude tree): Codex rollouts (session_meta, user and assistant
response_items with function calls and their output, a turn_context per turn, a token_count per
model call with last and total usage, an `info: null` count now and then), Gemini CLI JSONL chats
(a metadata line, user and gemini messages with content and tool calls, each gemini message written
first without tokens and again with them, `$set` lines) and an OpenCode database (`message` rows,
and the `part` rows that hold the content, as OpenCode stores them), spread over the last 25 days.

    python3 bench/bridge-scan/generate_agents.py OUT_DIR [--codex 1e8] [--gemini 5e7] [--opencode 3e7] [--seed 2]

OUT_DIR gets codex/ (a CODEX_HOME), gemini/ (a GEMINI_DATA_DIR) and opencode/ (an OPENCODE_DATA_DIR).
"""

import argparse
import json
import os
import random
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

WORDS = ("the retry client payment module test passes fails refactor function handler cache "
         "request response token stream parse error timeout circuit breaker config value").split()
CODEX_MODELS = ["gpt-5.1-codex", "gpt-5.2-codex", "gpt-5.1-codex-mini", "gpt-5.4", "gpt-5"]
GEMINI_MODELS = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview", "gemini-3-flash-preview"]
OPENCODE_MODELS = [("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-5.1-codex"), ("google", "gemini-2.5-pro"),
                   ("anthropic", "claude-opus-4-5")]


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def iso(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def text(rng, words) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def add_lines(lines, records) -> int:
    """Appends records as compact JSON lines; returns the bytes they take."""
    size = 0
    for record in records:
        line = compact(record)
        lines.append(line)
        size += len(line) + 1
    return size


def write_lines(path, lines) -> int:
    body = "\n".join(lines) + "\n"
    with open(path, "w") as handle:
        handle.write(body)
    return len(body)


def sessions(rng, target):
    """(n, start, session id) for each new session until `produced` (sent back) reaches target."""
    now = datetime.now(timezone.utc)
    produced, n = 0, 0
    while produced < target:
        n += 1
        produced += yield n, now - timedelta(days=rng.uniform(0, 25)), str(uuid.UUID(int=rng.getrandbits(128)))


def write_codex(rng, root, target):
    n = 0
    feed = sessions(rng, target)
    step = next(feed, None)
    while step is not None:
        n, t, sid = step
        folder = os.path.join(root, "sessions", t.strftime("%Y"), t.strftime("%m"), t.strftime("%d"))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"rollout-{t.strftime('%Y-%m-%dT%H-%M-%S')}-{sid}.jsonl")
        total = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0, "reasoning_output_tokens": 0,
                 "total_tokens": 0}
        lines = [compact({"timestamp": iso(t), "type": "session_meta", "payload": {
            "id": sid, "timestamp": iso(t), "cwd": "/home/dev/shop", "originator": "codex_cli_rs",
            "cli_version": "0.63.0", "instructions": None, "source": "cli", "model_provider": "openai"}})]
        size = rng.randint(100_000, 2_000_000)
        written = 0
        model = rng.choice(CODEX_MODELS)
        while written < size:
            t += timedelta(seconds=rng.expovariate(1 / 60))
            if rng.random() < 0.1:
                model = rng.choice(CODEX_MODELS)
            turn = [
                {"timestamp": iso(t), "type": "turn_context", "payload": {
                    "cwd": "/home/dev/shop", "approval_policy": "on-request",
                    "sandbox_policy": {"type": "workspace-write"}, "model": model, "effort": "medium", "summary": "auto"}},
                {"timestamp": iso(t), "type": "response_item", "payload": {
                    "type": "message", "role": "user", "content": [{"type": "input_text", "text": text(rng, rng.randint(5, 60))}]}},
            ]
            for _ in range(rng.randint(1, 5)):
                t += timedelta(seconds=rng.uniform(1, 20))
                call = "call_" + uuid.UUID(int=rng.getrandbits(128)).hex[:24]
                turn.append({"timestamp": iso(t), "type": "response_item", "payload": {
                    "type": "function_call", "name": "shell", "arguments": compact({"command": ["bash", "-lc", text(rng, 8)]}),
                    "call_id": call}})
                turn.append({"timestamp": iso(t), "type": "response_item", "payload": {
                    "type": "function_call_output", "call_id": call,
                    "output": compact({"output": text(rng, rng.randint(50, 900)), "metadata": {"exit_code": 0}})}})
                inp = rng.randint(5_000, 120_000) if rng.random() > 0.01 else rng.randint(272_000, 400_000)
                last = {"input_tokens": inp, "cached_input_tokens": int(inp * rng.uniform(0, 0.9)),
                        "output_tokens": rng.randint(10, 3000), "reasoning_output_tokens": rng.randint(0, 800)}
                last["total_tokens"] = last["input_tokens"] + last["output_tokens"]
                total = {k: total[k] + last[k] for k in total}
                info = {"total_token_usage": dict(total), "last_token_usage": last, "model_context_window": 272000}
                turn.append({"timestamp": iso(t), "type": "event_msg", "payload": {
                    "type": "token_count", "info": info, "rate_limits": {
                        "primary": {"used_percent": rng.uniform(0, 100), "window_minutes": 300,
                                    "resets_at": int(t.timestamp()) + 3600},
                        "secondary": {"used_percent": rng.uniform(0, 100), "window_minutes": 10080,
                                      "resets_at": int(t.timestamp()) + 86400}}}})
                if rng.random() < 0.05:
                    turn.append({"timestamp": iso(t), "type": "event_msg", "payload": {"type": "token_count", "info": None,
                                                                                       "rate_limits": None}})
            t += timedelta(seconds=rng.uniform(1, 10))
            turn.append({"timestamp": iso(t), "type": "response_item", "payload": {
                "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text(rng, rng.randint(20, 300))}]}})
            written += add_lines(lines, turn)
        step = _next(feed, write_lines(path, lines))
    return n


def _next(feed, size):
    try:
        return feed.send(size)
    except StopIteration:
        return None


def write_gemini(rng, root, target):
    n = 0
    feed = sessions(rng, target)
    step = next(feed, None)
    while step is not None:
        n, t, sid = step
        project = uuid.UUID(int=rng.getrandbits(128)).hex * 2
        folder = os.path.join(root, project, "chats")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"session-{t.strftime('%Y-%m-%dT%H-%M')}-{sid[:8]}.jsonl")
        lines = [compact({"sessionId": sid, "projectHash": project, "startTime": iso(t), "lastUpdated": iso(t), "kind": "main"})]
        size = rng.randint(50_000, 1_500_000)
        written = 0
        while written < size:
            t += timedelta(seconds=rng.expovariate(1 / 90))
            model = rng.choice(GEMINI_MODELS)
            user = {"id": str(uuid.UUID(int=rng.getrandbits(128))), "timestamp": iso(t), "type": "user",
                    "content": [{"text": text(rng, rng.randint(5, 80))}]}
            t += timedelta(seconds=rng.uniform(2, 30))
            gid = str(uuid.UUID(int=rng.getrandbits(128)))
            inp = rng.randint(2_000, 150_000) if rng.random() > 0.01 else rng.randint(200_001, 400_000)
            cached = int(inp * rng.uniform(0, 0.8))
            out = rng.randint(10, 4000)
            thoughts = rng.randint(0, 1500)
            tool = rng.randint(0, 300)
            tokens = {"input": inp, "output": out, "cached": cached, "thoughts": thoughts, "tool": tool,
                      "total": inp + out + thoughts + tool}
            message = {"id": gid, "timestamp": iso(t), "type": "gemini",
                       "content": [{"text": text(rng, rng.randint(30, 500))}],
                       "thoughts": [{"subject": "Plan", "description": text(rng, 30), "timestamp": iso(t)}],
                       "toolCalls": [{"id": "read_file-" + gid[:8], "name": "read_file", "args": {"path": "src/a.ts"},
                                      "result": [{"functionResponse": {"name": "read_file", "response": {"output": text(rng, 200)}}}],
                                      "status": "success", "timestamp": iso(t)}],
                       "tokens": None, "model": model}
            written += add_lines(lines, (user, message, dict(message, tokens=tokens), {"$set": {"lastUpdated": iso(t)}}))
        step = _next(feed, write_lines(path, lines))
    return n


def write_opencode(rng, root, target):
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, "opencode.db")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, time_created INTEGER NOT NULL, "
               "time_updated INTEGER NOT NULL, data TEXT NOT NULL)")
    db.execute("CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL, "
               "time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL)")
    now = datetime.now(timezone.utc)
    produced = 0
    n = 0
    while produced < target:
        session = "ses_" + uuid.UUID(int=rng.getrandbits(128)).hex[:24]
        t = now - timedelta(days=rng.uniform(0, 25))
        rows, parts = [], []
        for _ in range(rng.randint(20, 200)):
            n += 1
            t += timedelta(seconds=rng.expovariate(1 / 60))
            ms = int(t.timestamp() * 1000)
            provider, model = rng.choice(OPENCODE_MODELS)
            mid = f"msg_{n:012d}"
            tokens = {"input": rng.randint(1, 30_000), "output": rng.randint(10, 3000), "reasoning": rng.randint(0, 500),
                      "cache": {"read": rng.randint(0, 100_000), "write": rng.randint(0, 5000)}}
            data = {"id": mid, "sessionID": session, "role": "assistant", "time": {"created": ms, "completed": ms + 3000},
                    "parentID": f"msg_{n:012d}u", "modelID": model, "providerID": provider, "mode": "build",
                    "agent": "build", "path": {"cwd": "/home/dev/shop", "root": "/home/dev/shop"},
                    "cost": round(rng.uniform(0, 0.2), 6) if rng.random() < 0.3 else 0, "tokens": tokens, "finish": "stop"}
            rows.append((mid, session, ms, ms, compact(data)))
            part = compact({"id": f"prt_{n:012d}", "messageID": mid, "sessionID": session, "type": "text",
                            "text": text(rng, rng.randint(50, 600))})
            parts.append((f"prt_{n:012d}", mid, session, ms, ms, part))
            produced += len(rows[-1][4]) + len(part)
        db.executemany("INSERT INTO message VALUES (?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)", parts)
        db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--codex", type=float, default=1e8)
    parser.add_argument("--gemini", type=float, default=5e7)
    parser.add_argument("--opencode", type=float, default=3e7)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rollouts = write_codex(rng, os.path.join(args.out, "codex"), args.codex)
    chats = write_gemini(rng, os.path.join(args.out, "gemini"), args.gemini)
    messages = write_opencode(rng, os.path.join(args.out, "opencode"), args.opencode)
    print(f"{rollouts} Codex rollouts, {chats} Gemini CLI chats, {messages} OpenCode messages in {args.out}")


if __name__ == "__main__":
    main()
