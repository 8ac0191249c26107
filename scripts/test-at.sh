#!/usr/bin/env bash
# Runs `npm test` with every process's clock moved to the next HH:MM UTC (default 00:01), so the
# suite is seen passing at a given time of day (e.g. the hour after midnight, where day
# boundaries meet). Needs Debian's faketime (`apt-get install faketime`). The offset is relative
# (`FAKETIME=+<seconds>`), so processes started at different times share one clock; the bridge's
# Python gets it from a python3 wrapper first on PATH (the supervisor hands its child a curated
# environment): there it is `time.time` moved by the offset (a sitecustomize), not libfaketime,
# whose faked monotonic clock makes Python's timed waits sleep for the whole offset (and whose
# real-monotonic mode makes time.sleep fail with EINVAL).
#   scripts/test-at.sh 00:01 [vitest args… | bridge]   (CI=true and the TEST_* URLs as for npm test)
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
mkdir "$bin/site"
cat >"$bin/site/sitecustomize.py" <<SITE
import datetime as _datetime
import time
_time, _time_ns = time.time, time.time_ns
time.time = lambda: _time() + $offset
time.time_ns = lambda: _time_ns() + $offset * 1_000_000_000


class _MovedDatetime(_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls.fromtimestamp(time.time(), tz)

    @classmethod
    def utcnow(cls):
        return cls.utcfromtimestamp(time.time())


_datetime.datetime = _MovedDatetime
SITE
cat >"$bin/python3" <<WRAPPER
#!/bin/sh
unset LD_PRELOAD FAKETIME
export PYTHONPATH="$bin/site\${PYTHONPATH:+:\$PYTHONPATH}"
exec $python "\$@"
WRAPPER
chmod +x "$bin/python3"
echo "test-at: clocks moved by +${offset} s (now $(FAKETIME=+$offset LD_PRELOAD=$lib date -u +%H:%M) UTC)"
if [ "${1:-}" = "bridge" ]; then
  PATH="$bin:$PATH" python3 bridge/tests/run_tests.py
elif [ "$#" -gt 0 ]; then
  PATH="$bin:$PATH" FAKETIME="+$offset" LD_PRELOAD="$lib" npx vitest run "$@"
else
  PATH="$bin:$PATH" FAKETIME="+$offset" LD_PRELOAD="$lib" npm test
fi
