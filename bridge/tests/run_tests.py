"""Runs the bridge's unittest suite; with BRIDGE_TEST_REPORT=<file> it also writes the counts
(`numPassedTests`, `numFailedTests`) for CI's summary line."""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def main() -> int:
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=os.path.dirname(HERE))
    result = unittest.TextTestRunner(verbosity=1).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    report = os.environ.get("BRIDGE_TEST_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as handle:
            json.dump({"numPassedTests": passed, "numFailedTests": failed}, handle)
    print(f"bridge: {passed} passed, {failed} failed")
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
