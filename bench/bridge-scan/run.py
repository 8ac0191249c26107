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
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, script, "--port", "0", "--data-dir", tree],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
        while not get(url + "/health")["initial_scan_complete"]:
            time.sleep(0.02)
        out["cold"] = time.perf_counter() - started
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
    parser.add_argument("--baseline-rev", default=BASELINE_REV,
                        help="git revision of the bridge to measure against (same tree, same run); '' for none")
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
