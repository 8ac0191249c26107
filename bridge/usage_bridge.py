#!/usr/bin/env python3
"""usage-bridge: token usage, burn rate and plan predictions from Claude Code's local logs.

    python3 bridge/usage_bridge.py --port 8001 [--data-dir DIR ...] [--state-dir DIR]

Standard library only (Python >= 3.9). Prints `usage-bridge ready on http://HOST:PORT` once it
listens; exits 0 on SIGTERM; exits 2 with `address already in use` if the port is taken; with
`--parent-pid` it exits when that process is gone, so a crashed gateway leaves no bridge behind.
"""

import argparse
import errno
import os
import signal
import sys
import threading
import time

if sys.version_info < (3, 9):
    sys.stderr.write("usage-bridge needs Python >= 3.9 (found %d.%d)\n" % sys.version_info[:2])
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from usagebridge.log import log  # noqa: E402
from usagebridge.config_store import ConfigStore  # noqa: E402
from usagebridge.parse import default_data_dirs  # noqa: E402
from usagebridge.agents.prices import AgentPrices  # noqa: E402
from usagebridge.agents.store import AgentStore  # noqa: E402
from usagebridge.pricing import PriceTable  # noqa: E402
from usagebridge.server import BridgeHTTPServer, Handler, HostAllowList  # noqa: E402
from usagebridge.service import UsageService  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PRICING = os.path.join(HERE, "pricing.json")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="usage_bridge.py", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--data-dir", action="append", default=None,
                        help="a Claude config dir holding projects/ (repeatable; default: CLAUDE_CONFIG_DIR or ~/.config/claude and ~/.claude)")
    parser.add_argument("--state-dir", default=None, help="where the usage config is persisted")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    parser.add_argument("--refresh-interval", type=float, default=1.0, help="seconds between log refreshes")
    parser.add_argument("--request-timeout", type=float, default=60.0,
                        help="seconds a connection may send nothing before it is closed")
    parser.add_argument("--allowed-hosts", default=os.environ.get("BRIDGE_ALLOWED_HOSTS", ""),
                        help="Host names served besides IP addresses and localhost, comma-separated (.domain, * for any)")
    parser.add_argument("--pricing-file", default=os.environ.get("BRIDGE_PRICING_FILE") or DEFAULT_PRICING)
    # Other agents' data (docs/agents.md); each defaults to its agent's own variable, then folder.
    parser.add_argument("--codex-home", action="append", default=None,
                        help="a Codex home (repeatable; default: CODEX_HOME, else ~/.codex)")
    parser.add_argument("--gemini-dir", action="append", default=None,
                        help="a Gemini CLI data folder (repeatable; default: GEMINI_DATA_DIR, else ~/.gemini/tmp)")
    parser.add_argument("--opencode-dir", action="append", default=None,
                        help="an OpenCode data folder (repeatable; default: OPENCODE_DATA_DIR, else ~/.local/share/opencode)")
    parser.add_argument("--amp-dir", action="append", default=None,
                        help="an Amp data folder (repeatable; default: AMP_DATA_DIR, else ~/.local/share/amp)")
    return parser.parse_args(argv)


def watch_parent(pid: int, stop) -> None:
    while True:
        time.sleep(0.25)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop("parent process %d is gone" % pid)
            return
        except PermissionError:
            pass
        if os.getppid() == 1 and pid != 1:
            stop("parent process %d is gone (re-parented)" % pid)
            return


def main(argv=None) -> int:
    args = parse_args(argv)
    data_dirs = [os.path.abspath(os.path.expanduser(d)) for d in (args.data_dir or default_data_dirs())]
    try:
        prices = PriceTable.from_file(args.pricing_file)
        agent_prices = AgentPrices.from_file(args.pricing_file)
    except (OSError, ValueError) as error:
        log(f"cannot read the price table {args.pricing_file}: {error}")
        return 4

    def folders(given):
        return None if given is None else [os.path.abspath(os.path.expanduser(d)) for d in given]

    agents = AgentStore(agent_prices, folders(args.codex_home), folders(args.gemini_dir), folders(args.opencode_dir),
                        folders(args.amp_dir))
    service = UsageService(data_dirs, prices, refresh_interval=args.refresh_interval, agents=agents)
    try:
        server = BridgeHTTPServer((args.host, args.port), service, ConfigStore(args.state_dir),
                                  HostAllowList(args.allowed_hosts.split(",")))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            log(f"address already in use: {args.host}:{args.port}")
            return 2
        log(f"cannot listen on {args.host}:{args.port}: {error}")
        return 2

    Handler.timeout = args.request_timeout
    stopping = threading.Event()

    def stop(reason: str) -> None:
        if stopping.is_set():
            return
        stopping.set()
        service.stop()
        threading.Thread(target=server.shutdown, daemon=True).start()
        # Last: when the parent died, its end of our stderr pipe is gone and writing fails.
        try:
            log(f"stopping ({reason})")
            sys.stderr.flush()
        except OSError:
            pass

    signal.signal(signal.SIGTERM, lambda *_: stop("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: stop("SIGINT"))
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid, stop), daemon=True).start()

    service.start()
    host, port = server.server_address[:2]
    print("usage-bridge ready on http://%s:%d" % (host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
