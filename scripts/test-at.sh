#!/usr/bin/env bash
# Runs `npm test` with every process's clock moved to the next HH:MM UTC (default 00:01), so the
# suite is seen passing at a given time of day (e.g. the hour after midnight, where day
# boundaries meet). Needs Debian's faketime (`apt-get install faketime`). The offset is relative
# (`FAKETIME=+<seconds>`), so processes started at different times share one clock; the bridge's
# Python gets it through a python3 wrapper first on PATH, since the supervisor hands its child a
# curated environment (without LD_PRELOAD). Monotonic clocks stay real (FAKETIME_DONT_FAKE_MONOTONIC):
# a timed wait on an absolute monotonic deadline (Python's Event.wait) would otherwise sleep for
# the whole offset.
#   scripts/test-at.sh 00:01 [vitest args…]   (with CI=true and the TEST_* URLs as for npm test)
set -euo pipefail
at="${1:-00:01}"
shift || true
lib=$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/libfaketime.so.1$' || true)
[ -n "$lib" ] || { echo "test-at: faketime is not installed (apt-get install faketime)" >&2; exit 2; }
python=$(command -v python3)
now=$(date -u +%s)
target=$(date -u -d "today $at" +%s)
[ "$target" -gt "$now" ] || target=$(date -u -d "tomorrow $at" +%s)
offset=$((target - now))
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cat >"$bin/python3" <<WRAPPER
#!/bin/sh
export LD_PRELOAD=$lib FAKETIME=+$offset FAKETIME_DONT_FAKE_MONOTONIC=1
exec $python "\$@"
WRAPPER
chmod +x "$bin/python3"
echo "test-at: clocks moved by +${offset} s (now $(FAKETIME=+$offset LD_PRELOAD=$lib date -u +%H:%M) UTC)"
export FAKETIME_DONT_FAKE_MONOTONIC=1
if [ "$#" -gt 0 ]; then
  PATH="$bin:$PATH" FAKETIME="+$offset" LD_PRELOAD="$lib" npx vitest run "$@"
else
  PATH="$bin:$PATH" FAKETIME="+$offset" LD_PRELOAD="$lib" npm test
fi
