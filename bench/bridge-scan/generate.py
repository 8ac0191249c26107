#!/usr/bin/env python3
"""Writes a synthetic Claude Code log tree: compact one-line JSON as Claude Code writes it,
realistic line shapes (user prompts, assistant replies with text and tool use, tool results,
sidechain copies, API-error lines), ~30 % duplicate lines (one line per content block, each
repeating the usage; for about a third of the messages the earlier blocks carry the usage as it
stood while streaming, a few output tokens, and the last one what was billed), spread over the
last 25 days in bursts of activity.

    python3 bench/bridge-scan/generate.py OUT_DIR [--bytes 1e9] [--files 2000] [--seed 1]
"""

import argparse
import json
import os
import random
import uuid
from datetime import datetime, timedelta, timezone

MODELS = [
    ("claude-sonnet-4-5-20250929", 0.55),
    ("claude-opus-4-5-20251101", 0.2),
    ("claude-haiku-4-5-20251001", 0.2),
    ("claude-opus-4-1-20250805", 0.04),
    ("claude-experimental-unpriced", 0.01),
]
WORDS = ("the retry client payment module test passes fails refactor function handler cache "
         "request response token stream parse error timeout circuit breaker config value").split()


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def text(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words))


def pick_model(rng):
    r = rng.random()
    for name, weight in MODELS:
        r -= weight
        if r <= 0:
            return name
    return MODELS[0][0]


def session_lines(rng, session_id, cwd, start, target_bytes):
    """Yields lines of one session until about target_bytes were produced."""
    produced = 0
    t = start
    parent = None
    while produced < target_bytes:
        t += timedelta(seconds=rng.expovariate(1 / 40))
        user_uuid = str(uuid.UUID(int=rng.getrandbits(128)))
        user = {"parentUuid": parent, "isSidechain": False, "userType": "external", "cwd": cwd,
                "sessionId": session_id, "version": "2.1.140", "gitBranch": "main", "type": "user",
                "message": {"role": "user", "content": text(rng, rng.randint(5, 60))},
                "uuid": user_uuid, "timestamp": iso(t)}
        line = json.dumps(user, separators=(",", ":"))
        produced += len(line) + 1
        yield line
        parent = user_uuid
        for _ in range(rng.randint(1, 4)):
            t += timedelta(seconds=rng.uniform(2, 30))
            model = pick_model(rng)
            message_id = "msg_01" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(22))
            request_id = "req_011C" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(20))
            big = rng.random() < 0.002
            cache_creation = rng.randint(0, 5000)
            usage = {
                "input_tokens": rng.randint(1, 50) if not big else rng.randint(150_000, 400_000),
                "cache_creation_input_tokens": cache_creation,
                "cache_read_input_tokens": rng.randint(0, 120_000) if not big else rng.randint(150_000, 300_000),
                # Claude Code's breakdown of the same cache writes (ccusage 20 reads it when present)
                "cache_creation": {"ephemeral_5m_input_tokens": cache_creation, "ephemeral_1h_input_tokens": 0},
                "output_tokens": rng.randint(1, 2500),
                "service_tier": "standard",
            }
            blocks = rng.randint(1, 3)
            streamed = rng.random() < 0.35
            sidechain = rng.random() < 0.1
            for block in range(blocks):  # one line per content block, usage repeated: duplicates
                t += timedelta(milliseconds=rng.randint(5, 400))
                content = ([{"type": "text", "text": text(rng, rng.randint(10, 200))}] if block == 0 else
                           [{"type": "tool_use", "id": "toolu_" + uuid.UUID(int=rng.getrandbits(128)).hex[:20],
                             "name": rng.choice(["Read", "Bash", "Edit", "Grep"]),
                             "input": {"file_path": f"{cwd}/src/{rng.choice(WORDS)}.ts", "command": text(rng, 8)}}])
                assistant = {"parentUuid": parent, "isSidechain": sidechain, "userType": "external", "cwd": cwd,
                             "sessionId": session_id, "version": "2.1.140", "gitBranch": "main",
                             "message": {"id": message_id, "type": "message", "role": "assistant", "model": model,
                                         "content": content, "stop_reason": "tool_use", "stop_sequence": None,
                                         "usage": usage if not streamed or block == blocks - 1
                                         else dict(usage, output_tokens=rng.randint(1, 12))},
                             "requestId": request_id, "type": "assistant",
                             "uuid": str(uuid.UUID(int=rng.getrandbits(128))), "timestamp": iso(t)}
                line = json.dumps(assistant, separators=(",", ":"))
                produced += len(line) + 1
                yield line
                if block > 0:
                    result = {"parentUuid": assistant["uuid"], "isSidechain": sidechain, "cwd": cwd,
                              "sessionId": session_id, "type": "user", "timestamp": iso(t),
                              "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": content[0]["id"],
                                                                        "content": text(rng, rng.randint(20, 400))}]},
                              "uuid": str(uuid.UUID(int=rng.getrandbits(128)))}
                    line = json.dumps(result, separators=(",", ":"))
                    produced += len(line) + 1
                    yield line
            if rng.random() < 0.001:
                err = {"type": "assistant", "sessionId": session_id, "timestamp": iso(t), "isApiErrorMessage": True,
                       # each API-error message has its own id (no requestId: never de-duplicated)
                       "message": {"id": "msg_err_" + uuid.UUID(int=rng.getrandbits(128)).hex[:16], "model": "<synthetic>",
                                   "content": [{"type": "text", "text": f"Claude AI usage limit reached|{int(t.timestamp()) + 3600}"}],
                                   "usage": {"input_tokens": 0, "output_tokens": 0}}}
                line = json.dumps(err, separators=(",", ":"))
                produced += len(line) + 1
                yield line


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--bytes", type=float, default=1e9)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    now = datetime.now(timezone.utc)
    per_file = int(args.bytes / args.files)
    written = 0
    for index in range(args.files):
        project = f"-home-dev-project{index % 40}"
        session_id = str(uuid.UUID(int=rng.getrandbits(128)))
        directory = os.path.join(args.out, "projects", project)
        os.makedirs(directory, exist_ok=True)
        start = now - timedelta(days=25) + timedelta(seconds=rng.uniform(0, 24 * 86400))
        size = int(per_file * rng.uniform(0.3, 1.7))
        with open(os.path.join(directory, session_id + ".jsonl"), "w", encoding="utf-8") as handle:
            for line in session_lines(rng, session_id, "/home/dev/" + project, start, size):
                handle.write(line + "\n")
                written += len(line) + 1
    print(json.dumps({"files": args.files, "bytes": written}))


if __name__ == "__main__":
    main()
