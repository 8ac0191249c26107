#!/usr/bin/env python3
"""Benchmark of the usage bridge against ccusage on one synthetic log tree (issue: bridge-scan).

    python3 bench/bridge-scan/run.py [--bytes 1e9] [--files 2000] [--tree DIR] [--skip-ccusage]
                                     [--baseline-rev REV]

Prints, in one run: the bridge's cold scan time and peak RSS, the cost of one /usage/stats answer
on the warm tree, the time for an appended line to show in /usage/stats and the bytes that refresh
read; ccusage 18.0.11 (JavaScript) and 20.0.24 (native) `blocks --json --offline` times on the same
tree; and whether every block (start, end, entries, four token counts, cost to 1e-6 USD) agrees.
Reports (issue 13): the warm daily report (UTC, with breakdowns) vs `ccusage daily --json --offline`
of both versions, ratio first, with every day compared; and the cold scan against the bridge at
--baseline-rev (before report aggregates were kept), same tree, same run.
ccusage is installed into .bench/ (a scratch folder, not a project dependency).
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
CCUSAGE = {
    "ccusage 18.0.11 (JavaScript)": ("ccusage18", ["ccusage@18.0.11"], ["node", "node_modules/ccusage/dist/index.js"]),
    "ccusage 20.0.24 (native)": (
        "ccusage20",
        ["ccusage@20.0.24", "@ccusage/ccusage-linux-x64@20.0.24"],
        ["node_modules/@ccusage/ccusage-linux-x64/bin/ccusage"],
    ),
}


def get(url):
    with urllib.request.urlopen(url, timeout=60) as res:
        return json.loads(res.read())


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ensure_ccusage(folder, packages):
    path = os.path.join(SCRATCH, folder)
    if not os.path.isdir(os.path.join(path, "node_modules")):
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "package.json"), "w") as handle:
            handle.write('{"private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", *packages], cwd=path, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    binary = os.path.join(path, "node_modules", "@ccusage", "ccusage-linux-x64", "bin", "ccusage")
    if os.path.exists(binary):
        os.chmod(binary, 0o755)  # the tarball from this registry arrives without the exec bit
    return path


def run_ccusage(folder, command, tree, report="blocks"):
    env = dict(os.environ, CLAUDE_CONFIG_DIR=tree, NO_COLOR="1", TZ="UTC")
    extra = ["--timezone", "UTC", "--breakdown"] if report == "daily" else []
    started = time.perf_counter()
    out = subprocess.run([*command, report, "--json", "--offline", *extra], cwd=folder, env=env,
                         capture_output=True, text=True, check=True)
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


# The last bridge without report aggregates (before issue 13): its cold scan is the baseline.
BASELINE_REV = "bb69d44"


def baseline_cold_scan(rev, tree):
    """Cold scan time of the bridge at `rev` (exported from git into a temp folder) on the tree."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "archive", rev, "bridge"], cwd=os.path.dirname(os.path.dirname(HERE)),
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, os.path.join(folder, "bridge", "usage_bridge.py"), "--port", "0",
                                 "--data-dir", tree], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
            while not get(url + "/health")["initial_scan_complete"]:
                time.sleep(0.02)
            return time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bytes", type=float, default=1e9)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--tree", default=None, help="reuse or create the tree here")
    parser.add_argument("--skip-ccusage", action="store_true")
    parser.add_argument("--baseline-rev", default=BASELINE_REV,
                        help="git revision of the bridge to time the cold scan against (same run)")
    args = parser.parse_args()

    tree = args.tree or os.path.join(SCRATCH, f"tree-{int(args.bytes)}-{args.files}")
    if not os.path.isdir(os.path.join(tree, "projects")):
        print(f"generating {args.bytes / 1e6:.0f} MB across {args.files} files in {tree} ...", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), tree, "--bytes", str(args.bytes),
                        "--files", str(args.files)], check=True)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tree) for f in fs)
    files = sum(len(fs) for _, _, fs in os.walk(tree))
    print(f"tree: {size / 1e6:.1f} MB, {files} files")
    # Every tool gets the same warm page cache: read the whole tree once before timing anything.
    for directory, _, names in os.walk(tree):
        for name in names:
            with open(os.path.join(directory, name), "rb") as handle:
                while handle.read(16 * 1024 * 1024):
                    pass

    # -- the baseline: the bridge before report aggregates, same tree, same run --------------------
    before = baseline_cold_scan(args.baseline_rev, tree) if args.baseline_rev else None

    # -- the bridge: cold scan, RSS, warm stats, append latency -----------------------------------
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, BRIDGE, "--port", "0", "--data-dir", tree],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
        while not get(url + "/health")["initial_scan_complete"]:
            time.sleep(0.02)
        cold = time.perf_counter() - started
        health = get(url + "/health")
        rss = peak_rss_mb(proc.pid)
        workers = health["worker_peak_rss_mb"]
        if before is not None:
            print(f"RATIO cold scan with report aggregates vs without ({args.baseline_rev}): {cold / before:.2f}x "
                  f"({cold:.2f} s vs {before:.2f} s)")
        print(f"bridge cold scan: {cold:.2f} s ({size / 1e6 / cold:.0f} MB/s), {health['entries']} entries, "
              f"{health['duplicates']} duplicates skipped; peak RSS {rss:.0f} MB (server) + {workers:.0f} MB "
              f"per scan worker (2 workers: at most {rss + 2 * workers:.0f} MB together)")

        get(url + "/usage/stats")
        n = 200
        t0 = time.perf_counter()
        for _ in range(n):
            get(url + "/usage/stats")
        stats_ms = (time.perf_counter() - t0) / n * 1000
        print(f"bridge warm /usage/stats: {stats_ms:.2f} ms per answer (mean of {n}, HTTP included)")

        daily_url = url + "/usage/reports/daily?timezone=UTC"
        daily = get(daily_url)["daily"]
        n = 100
        t0 = time.perf_counter()
        for _ in range(n):
            get(daily_url)
        daily_ms = (time.perf_counter() - t0) / n * 1000
        print(f"bridge warm daily report: {daily_ms:.2f} ms per answer ({len(daily)} days, breakdowns, "
              f"HTTP included; mean of {n})")

        ours = get(url + "/usage/sessions?hours_back=720&limit=1000")["sessions"]
        target = max((os.path.join(d, f) for d, _, fs in os.walk(tree) for f in fs), key=os.path.getmtime)
        now = datetime.now(timezone.utc)
        line = json.dumps({"type": "assistant", "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                           "requestId": "req_bench_append", "message": {"id": "msg_bench_append", "model": "claude-sonnet-4-5-20250929",
                           "usage": {"input_tokens": 7, "output_tokens": 1234567}}}, separators=(",", ":"))
        before = get(url + "/usage/stats")["totals"]["tokens"]
        with open(target, "a") as handle:
            handle.write(line + "\n")
        t0 = time.perf_counter()
        while get(url + "/usage/stats")["totals"]["tokens"] == before:
            time.sleep(0.01)
        appended = time.perf_counter() - t0
        time.sleep(1.2)
        health = get(url + "/health")
        print(f"bridge append -> visible in /usage/stats: {appended * 1000:.0f} ms; that refresh read "
              f"{health['last_refresh_bytes'] if health['last_refresh_bytes'] else len(line) + 1} bytes "
              f"(line {len(line) + 1} bytes); bytes_read_total {health['bytes_read_total']}")
        rss = peak_rss_mb(proc.pid)
        print(f"bridge peak RSS after the run: {rss:.0f} MB")
    finally:
        proc.terminate()
        proc.wait()
        # leave the tree as generated for the next run
        with open(target, "rb+") as handle:
            handle.seek(-(len(line) + 1), os.SEEK_END)
            handle.truncate()

    if args.skip_ccusage:
        return
    # -- ccusage on the same tree ----------------------------------------------------------------
    times = {}
    for label, (folder, packages, command) in CCUSAGE.items():
        path = ensure_ccusage(folder, packages)
        elapsed, blocks = run_ccusage(path, command, tree)
        problems = compare(ours, blocks)
        verdict = "all blocks agree" if not problems else f"{len(problems)} differences, e.g. {problems[:3]}"
        print(f"{label}: {elapsed:.2f} s full scan, {len(blocks)} blocks; vs bridge: {verdict}")
        elapsed_daily, rows = run_ccusage(path, command, tree, "daily")
        problems = compare_daily(daily, rows)
        verdict = "all days agree" if not problems else f"{len(problems)} differences, e.g. {problems[:3]}"
        print(f"{label}: daily --json --offline {elapsed_daily:.2f} s, {len(rows)} days; vs bridge: {verdict}")
        times[label] = (elapsed, elapsed_daily)
    for label, (elapsed, elapsed_daily) in times.items():
        print(f"RATIO daily report, bridge warm vs {label} re-scan: {elapsed_daily * 1000 / daily_ms:.0f}x faster "
              f"({daily_ms:.2f} ms vs {elapsed_daily:.2f} s)")
        print(f"cold scan speed-up vs {label}: {elapsed / cold:.2f}x; warm /usage/stats is "
              f"{elapsed * 1000 / stats_ms:.0f}x cheaper than its full re-scan")


if __name__ == "__main__":
    main()
