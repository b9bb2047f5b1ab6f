"""What every client suite here shares: scenarios that report one line each, and the closing
"N passed, M failed" line the Rust tests check."""

import sys
import time
import traceback

RESULTS = []


def scenario(name):
    """Runs the decorated function at once as one scenario; a failure is reported, not raised."""

    def wrap(fn):
        started = time.monotonic()
        try:
            fn()
            RESULTS.append(True)
            print(f"ok     {name} ({time.monotonic() - started:.2f}s)", flush=True)
        except Exception:  # noqa: BLE001 - every failure is reported, none stops the suite
            RESULTS.append(False)
            print(f"FAILED {name}", flush=True)
            traceback.print_exc()
        return fn

    return wrap


def finish():
    """Prints the closing line and exits 1 when anything failed."""
    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
