"""The bridge's one way to say something: a line on stderr, `usage-bridge: <message>`, flushed.

The gateway's supervisor keeps the last of these lines and shows them in the bridge's status and
errors (its stdout carries one line only: `usage-bridge ready on <url>`, which the supervisor
waits for)."""
import sys


def log(message: str) -> None:
    sys.stderr.write(f"usage-bridge: {message}\n")
    sys.stderr.flush()
