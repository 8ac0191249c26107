#!/usr/bin/env python3
"""Benchmark of the usage bridge against ccusage 20 on one synthetic log tree.

    python3 bench/bridge-scan/run.py [--bytes 3e8] [--files 600] [--tree DIR] [--skip-ccusage]
                                     [--baseline-rev REV]

Prints, in one run, ratios first: the bridge's cold scan against `ccusage blocks --json --offline`
(20.0.24, native: the project's dev dependency, `npm ci` installs it) on the same tree, and against
the bridge at --baseline-rev (before ccusage 20's rules); its peak RSS; one warm /usage/stats
answer; the time for an appended line to show in /usage/stats and the bytes that refresh read
(both also for the baseline); whether every block (start, end, entries, four token counts, cost to
1e-6 USD) agrees; and the warm daily report (UTC, with breakdowns) against
`ccusage claude daily --json --offline`, every day compared.

Then a mixed home of every agent (--mixed-bytes, 300 MB by default: 40 % Claude Code, a third
Codex, the rest Gemini CLI and OpenCode; generate.py and generate_agents.py): the bridge's cold scan
of all of it against `ccusage daily --json --offline` (every agent, native), ratio first; every
day's row compared; and how soon an appended Codex line, an appended Gemini CLI message and a new
OpenCode row show in the reports.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRATCH = os.path.join(ROOT, ".bench")
BRIDGE = os.path.join(ROOT, "bridge", "usage_bridge.py")
# ccusage 20's launcher runs the native binary of this platform (installed by `npm ci`).
CCUSAGE = ["node", os.path.join(ROOT, "node_modules", "ccusage", "src", "cli.js")]


def get(url):
    with urllib.request.urlopen(url, timeout=60) as res:
        return json.loads(res.read())


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_ccusage(tree, report="blocks"):
    env = dict(os.environ, CLAUDE_CONFIG_DIR=tree, NO_COLOR="1", TZ="UTC")
    command = [*CCUSAGE, report] if report == "blocks" else [*CCUSAGE, "claude", report, "--timezone", "UTC", "--breakdown"]
    started = time.perf_counter()
    out = subprocess.run([*command, "--json", "--offline"], env=env, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    return elapsed, json.loads(out.stdout)[report]


def compare_daily(ours, theirs):
    """Differences between the bridge's daily report rows and ccusage's."""
    problems = []
    # ccusage 18 names the day `date`, ccusage 20 `period`.
    theirs_by_date = {row.get("date", row.get("period")): row for row in theirs}
    if sorted(theirs_by_date) != [row["date"] for row in ours]:
        problems.append("different dates")
    for row in ours:
        them = theirs_by_date.get(row["date"])
        if them is None:
            continue
        for a, b in (("input_tokens", "inputTokens"), ("output_tokens", "outputTokens"),
                     ("cache_creation_tokens", "cacheCreationTokens"), ("cache_read_tokens", "cacheReadTokens")):
            if row[a] != them[b]:
                problems.append(f"{row['date']} {a}: bridge {row[a]} vs ccusage {them[b]}")
        if abs(row["cost_usd"] - them["totalCost"]) > 1e-6:
            problems.append(f"{row['date']} cost: bridge {row['cost_usd']} vs ccusage {them['totalCost']}")
    return problems


def compare(ours, theirs):
    """Differences between our sessions and ccusage's blocks, block by block."""
    problems = []
    mine = {b["id"]: b for b in ours}
    other = {b["id"]: b for b in theirs}
    for missing in sorted(set(other) - set(mine)):
        problems.append(f"block {missing} only in ccusage")
    for extra in sorted(set(mine) - set(other)):
        problems.append(f"block {extra} only in the bridge")
    for key in sorted(set(mine) & set(other)):
        a, b = mine[key], other[key]
        pairs = [
            ("start", a["start_time"], b["startTime"]),
            ("end", a["end_time"], b["endTime"]),
            ("entries", a["entries"], b["entries"]),
            ("input", a["token_counts"]["input_tokens"], b["tokenCounts"]["inputTokens"]),
            ("output", a["token_counts"]["output_tokens"], b["tokenCounts"]["outputTokens"]),
            ("cache_creation", a["token_counts"]["cache_creation_tokens"], b["tokenCounts"]["cacheCreationInputTokens"]),
            ("cache_read", a["token_counts"]["cache_read_tokens"], b["tokenCounts"]["cacheReadInputTokens"]),
        ]
        for name, x, y in pairs:
            if x != y:
                problems.append(f"{key} {name}: bridge {x} vs ccusage {y}")
        if abs(a["cost_usd"] - b["costUSD"]) > 1e-6:
            problems.append(f"{key} cost: bridge {a['cost_usd']} vs ccusage {b['costUSD']}")
    return problems


# The bridge before ccusage 20's rules (first seen wins, no replacement): the baseline.
BASELINE_REV = "f0446e1"


def measure(script, tree, appended_line):
    """One bridge process on the tree: cold scan (s), peak RSS (MB, server and largest worker),
    warm /usage/stats and daily report (ms), an appended line's latency (ms) and the bytes that
    refresh read, its blocks and daily rows."""
    out = {}
    target = max((os.path.join(d, f) for d, _, fs in os.walk(tree) for f in fs), key=os.path.getmtime)
    # Claude Code alone: no other agent's folder of this machine is read.
    none = os.path.join(SCRATCH, "no-such-folder")
    env = dict(os.environ, CODEX_HOME=none, GEMINI_DATA_DIR=none, OPENCODE_DATA_DIR=none, AMP_DATA_DIR=none)
    proc, url, out["cold"] = start_bridge([script, "--data-dir", tree], env)
    try:
        health = get(url + "/health")
        out["rss"], out["workers"] = peak_rss_mb(proc.pid), health.get("worker_peak_rss_mb", 0)
        out["entries"], out["duplicates"] = health["entries"], health["duplicates"]
        get(url + "/usage/stats")
        n = 200
        t0 = time.perf_counter()
        for _ in range(n):
            get(url + "/usage/stats")
        out["stats_ms"] = (time.perf_counter() - t0) / n * 1000
        daily_url = url + "/usage/reports/daily?timezone=UTC"
        out["daily"] = get(daily_url)["daily"]
        n = 100
        t0 = time.perf_counter()
        for _ in range(n):
            get(daily_url)
        out["daily_ms"] = (time.perf_counter() - t0) / n * 1000
        out["blocks"] = get(url + "/usage/sessions?hours_back=720&limit=1000")["sessions"]
        before = get(url + "/usage/stats")["totals"]["tokens"]
        with open(target, "a") as handle:
            handle.write(appended_line + "\n")
        t0 = time.perf_counter()
        while get(url + "/usage/stats")["totals"]["tokens"] == before:
            time.sleep(0.01)
        out["append_ms"] = (time.perf_counter() - t0) * 1000
        time.sleep(1.2)
        out["append_bytes"] = get(url + "/health")["last_refresh_bytes"] or len(appended_line) + 1
        out["rss_after"] = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
        # leave the tree as generated for the next run
        with open(target, "rb+") as handle:
            handle.seek(-(len(appended_line) + 1), os.SEEK_END)
            handle.truncate()
    return out


def start_bridge(args, env=None):
    """A bridge process with these arguments, once its first scan is complete: (process, URL,
    seconds from start)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
    while not get(url + "/health")["initial_scan_complete"]:
        time.sleep(0.02)
    return proc, url, time.perf_counter() - started


def measure_mixed(home, claude, agents):
    """The bridge on a home of every agent: cold scan (s), peak RSS, its daily report (every agent),
    and the time for a new Codex line, Gemini CLI message and OpenCode row to show (ms each)."""
    import sqlite3

    out = {}
    flags = ["--codex-home", agents["codex"], "--gemini-dir", agents["gemini"], "--opencode-dir", agents["opencode"],
             "--amp-dir", os.path.join(home, "amp")]
    proc, url, out["cold"] = start_bridge([BRIDGE, "--data-dir", claude, *flags])
    rollout = max((os.path.join(d, f) for d, _, fs in os.walk(agents["codex"]) for f in fs), key=os.path.getmtime)
    chat = max((os.path.join(d, f) for d, _, fs in os.walk(agents["gemini"]) for f in fs), key=os.path.getmtime)
    database = os.path.join(agents["opencode"], "opencode.db")
    appended = []
    try:
        health = get(url + "/health")
        out["rss"], out["workers"] = peak_rss_mb(proc.pid), health.get("worker_peak_rss_mb", 0)
        out["events"] = {a: health["agents"][a]["events"] for a in ("codex", "gemini", "opencode")}
        out["entries"] = health["entries"]
        daily_url = url + "/usage/reports/daily?timezone=UTC&agent=all"
        out["daily"] = get(daily_url)["daily"]
        n = 50
        t0 = time.perf_counter()
        for _ in range(n):
            get(daily_url)
        out["daily_ms"] = (time.perf_counter() - t0) / n * 1000
        now = datetime.now(timezone.utc)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        codex_line = json.dumps({"timestamp": stamp, "type": "event_msg", "payload": {"type": "token_count", "info": {
            "last_token_usage": {"input_tokens": 7777777, "cached_input_tokens": 0, "output_tokens": 1,
                                 "reasoning_output_tokens": 0, "total_tokens": 7777778}}}}, separators=(",", ":"))
        gemini_line = json.dumps({"id": "bench-append", "timestamp": stamp, "type": "gemini", "model": "gemini-2.5-flash",
                                  "tokens": {"input": 5555555, "output": 1, "cached": 0, "thoughts": 0, "tool": 0,
                                             "total": 5555556}}, separators=(",", ":"))
        for agent, append in (
            ("codex", lambda: _append(rollout, codex_line, appended)),
            ("gemini", lambda: _append(chat, gemini_line, appended)),
            ("opencode", lambda: _insert(sqlite3, database, now)),
        ):
            agent_url = url + f"/usage/reports/monthly?timezone=UTC&agent={agent}"
            before = get(agent_url)["totals"]["input_tokens"]
            append()
            t0 = time.perf_counter()
            while get(agent_url)["totals"]["input_tokens"] == before:
                time.sleep(0.01)
            out[f"{agent}_append_ms"] = (time.perf_counter() - t0) * 1000
    finally:
        proc.terminate()
        proc.wait()
        for path, line in appended:
            with open(path, "rb+") as handle:
                handle.seek(-(len(line) + 1), os.SEEK_END)
                handle.truncate()
        db = sqlite3.connect(database)
        db.execute("DELETE FROM message WHERE id = 'msg_bench_append'")
        db.commit()
        db.close()
    return out


def _append(path, line, appended):
    with open(path, "a") as handle:
        handle.write(line + "\n")
    appended.append((path, line))


def _insert(sqlite3, database, now):
    db = sqlite3.connect(database)
    data = {"id": "msg_bench_append", "sessionID": "ses_bench", "role": "assistant", "modelID": "gpt-5.1-codex",
            "providerID": "openai", "cost": 0, "time": {"created": int(now.timestamp() * 1000)},
            "tokens": {"input": 3333333, "output": 1, "reasoning": 0, "cache": {"read": 0, "write": 0}}}
    ms = int(now.timestamp() * 1000)
    db.execute("INSERT INTO message VALUES ('msg_bench_append', 'ses_bench', ?, ?, ?)", (ms, ms, json.dumps(data)))
    db.commit()
    db.close()


def run_ccusage_all(claude, agents, home):
    env = dict(PATH=os.environ["PATH"], HOME=home, TZ="UTC", NO_COLOR="1", CLAUDE_CONFIG_DIR=claude,
               CODEX_HOME=agents["codex"], GEMINI_DATA_DIR=agents["gemini"], OPENCODE_DATA_DIR=agents["opencode"])
    started = time.perf_counter()
    out = subprocess.run([*CCUSAGE, "daily", "--json", "--offline", "--timezone", "UTC"], env=env,
                         capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(out.stdout)["daily"]


def mixed_section(args):
    total = args.mixed_bytes
    home = os.path.join(SCRATCH, f"mixed-{int(total)}")
    claude = os.path.join(home, "claude")
    agents = {a: os.path.join(home, a) for a in ("codex", "gemini", "opencode")}
    if not os.path.isdir(os.path.join(claude, "projects")):
        print(f"generating a mixed home of {total / 1e6:.0f} MB in {home} ...", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), claude, "--bytes", str(total * 0.4),
                        "--files", str(max(10, int(total * 0.4 / 5e5)))], check=True)
        subprocess.run([sys.executable, os.path.join(HERE, "generate_agents.py"), home, "--codex", str(total / 3),
                        "--gemini", str(total * 0.15), "--opencode", str(total * 0.1167)], check=True)
    empty = os.path.join(home, "empty-home")
    os.makedirs(empty, exist_ok=True)
    sizes = {name: sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(home, name)) for f in fs)
             for name in ("claude", "codex", "gemini", "opencode")}
    for directory, _, names in os.walk(home):
        for name in names:
            with open(os.path.join(directory, name), "rb") as handle:
                while handle.read(16 * 1024 * 1024):
                    pass
    ours = measure_mixed(home, claude, agents)
    theirs = run_ccusage_all(claude, agents, empty)
    print()
    print("mixed home: " + ", ".join(f"{name} {size / 1e6:.0f} MB" for name, size in sizes.items())
          + f" ({sum(sizes.values()) / 1e6:.0f} MB); bridge: {ours['entries']} Claude entries, "
          + ", ".join(f"{a} {n}" for a, n in ours["events"].items()) + " events")
    print(f"RATIO mixed cold scan, bridge vs ccusage 20.0.24 `daily --json --offline` (every agent, native): "
          f"{ours['cold'] / theirs[0]:.2f}x its time ({ours['cold']:.2f} s vs {theirs[0]:.2f} s; goal <= 1.2x)")
    print(f"mixed: peak RSS {ours['rss']:.0f} MB (server) + {ours['workers']:.0f} MB per scan worker; warm daily "
          f"report of every agent {ours['daily_ms']:.2f} ms ({len(ours['daily'])} days; ccusage re-scans: "
          f"{theirs[0] * 1000 / ours['daily_ms']:.0f}x slower)")
    print(f"mixed: new data visible: Codex line {ours['codex_append_ms']:.0f} ms, Gemini CLI message "
          f"{ours['gemini_append_ms']:.0f} ms, OpenCode row {ours['opencode_append_ms']:.0f} ms (goal <= 1,500 ms)")
    theirs_by_day = {row["period"]: row for row in theirs[1]}
    problems = []
    if sorted(theirs_by_day) != [row["date"] for row in ours["daily"]]:
        problems.append("different days")
    for row in ours["daily"]:
        them = theirs_by_day.get(row["date"])
        if them is None:
            continue
        for a, b in (("input_tokens", "inputTokens"), ("output_tokens", "outputTokens"),
                     ("cache_creation_tokens", "cacheCreationTokens"), ("cache_read_tokens", "cacheReadTokens"),
                     ("total_tokens", "totalTokens")):
            if row[a] != them[b]:
                problems.append(f"{row['date']} {a}: bridge {row[a]} vs ccusage {them[b]}")
        if abs(row["cost_usd"] - them["totalCost"]) > 1e-6:
            problems.append(f"{row['date']} cost: bridge {row['cost_usd']} vs ccusage {them['totalCost']}")
    print(f"mixed daily vs `ccusage daily` 20.0.24: {len(theirs[1])} days, "
          + ("all agree" if not problems else f"{len(problems)} differences, e.g. {problems[:3]}"))


def baseline_bridge(rev, folder):
    """The bridge at `rev`, exported from git into `folder`; its script."""
    archive = subprocess.run(["git", "archive", rev, "bridge"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return os.path.join(folder, "bridge", "usage_bridge.py")


def main():
    import tempfile

    parser = argparse.ArgumentParser()
    parser.add_argument("--bytes", type=float, default=3e8)
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--tree", default=None, help="reuse or create the tree here")
    parser.add_argument("--skip-ccusage", action="store_true")
    parser.add_argument("--mixed-bytes", type=float, default=3e8, help="the mixed home's size; 0: no mixed run")
    parser.add_argument("--only-mixed", action="store_true", help="only the mixed home")
    parser.add_argument("--baseline-rev", default=BASELINE_REV,
                        help="git revision of the bridge to measure against (same tree, same run); '' for none")
    args = parser.parse_args()
    if args.only_mixed:
        mixed_section(args)
        return

    tree = args.tree or os.path.join(SCRATCH, f"tree-{int(args.bytes)}-{args.files}")
    if not os.path.isdir(os.path.join(tree, "projects")):
        print(f"generating {args.bytes / 1e6:.0f} MB across {args.files} files in {tree} ...", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), tree, "--bytes", str(args.bytes),
                        "--files", str(args.files)], check=True)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tree) for f in fs)
    files = sum(len(fs) for _, _, fs in os.walk(tree))
    # Every tool gets the same warm page cache: read the whole tree once before timing anything.
    for directory, _, names in os.walk(tree):
        for name in names:
            with open(os.path.join(directory, name), "rb") as handle:
                while handle.read(16 * 1024 * 1024):
                    pass
    now = datetime.now(timezone.utc)
    line = json.dumps({"type": "assistant", "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                       "requestId": "req_bench_append", "message": {"id": "msg_bench_append", "model": "claude-sonnet-4-5-20250929",
                       "usage": {"input_tokens": 7, "output_tokens": 1234567}}}, separators=(",", ":"))

    # Alternating, so that a machine that slows down mid-run hurts both alike.
    with tempfile.TemporaryDirectory() as folder:
        base_script = baseline_bridge(args.baseline_rev, folder) if args.baseline_rev else None
        base = measure(base_script, tree, line) if base_script else None
        ours = measure(BRIDGE, tree, line)
        theirs = None if args.skip_ccusage else run_ccusage(tree)
        theirs_daily = None if args.skip_ccusage else run_ccusage(tree, "daily")

    print(f"tree: {size / 1e6:.1f} MB, {files} files; bridge: {ours['entries']} entries, "
          f"{ours['duplicates']} lines of requests already counted")
    if theirs is not None:
        print(f"RATIO cold scan, bridge vs ccusage 20.0.24 `blocks --json --offline` (native): "
              f"{ours['cold'] / theirs[0]:.2f}x its time ({ours['cold']:.2f} s vs {theirs[0]:.2f} s)")
    if base is not None:
        print(f"RATIO cold scan vs the bridge at {args.baseline_rev}: {ours['cold'] / base['cold']:.2f}x "
              f"({ours['cold']:.2f} s vs {base['cold']:.2f} s)")
        print(f"RATIO warm /usage/stats vs {args.baseline_rev}: {ours['stats_ms'] / base['stats_ms']:.2f}x "
              f"({ours['stats_ms']:.2f} ms vs {base['stats_ms']:.2f} ms, HTTP included, mean of 200)")
        print(f"RATIO appended line visible vs {args.baseline_rev}: {ours['append_ms'] / base['append_ms']:.2f}x "
              f"({ours['append_ms']:.0f} ms vs {base['append_ms']:.0f} ms; that refresh read "
              f"{ours['append_bytes']} bytes, the line is {len(line) + 1})")
    print(f"bridge peak RSS: {ours['rss']:.0f} MB (server) + {ours['workers']:.0f} MB per scan worker; "
          f"{ours['rss_after']:.0f} MB after the run"
          + (f" (baseline {base['rss']:.0f} + {base['workers']:.0f} MB)" if base else ""))
    print(f"bridge warm daily report: {ours['daily_ms']:.2f} ms ({len(ours['daily'])} days, breakdowns, HTTP included)")
    if theirs is None:
        return
    problems = compare(ours["blocks"], theirs[1])
    print(f"blocks vs ccusage 20.0.24: {len(theirs[1])} blocks, "
          + ("all agree" if not problems else f"{len(problems)} differences, e.g. {problems[:3]}"))
    problems = compare_daily(ours["daily"], theirs_daily[1])
    print(f"daily vs `ccusage claude daily` 20.0.24 ({theirs_daily[0]:.2f} s): {len(theirs_daily[1])} days, "
          + ("all agree" if not problems else f"{len(problems)} differences, e.g. {problems[:3]}"))
    print(f"RATIO daily report, bridge warm vs ccusage's re-scan: {theirs_daily[0] * 1000 / ours['daily_ms']:.0f}x faster")
    if args.mixed_bytes:
        mixed_section(args)


if __name__ == "__main__":
    main()
