"""Steady traffic from the official Python client, gradio_client, for the chaos test
(tests/chaos.rs): for SECONDS it calls /add with inputs of its own (each call's answer is
known) through the queue (`predict` joins the queue and reads its stream), and checks every
answer. A failed call is retried with a new client, as a program would.

Usage: python chaos_client.py URL SECONDS

Prints one JSON line: calls tried, answered right, answered wrong, failed (with the first
distinct messages), and the longest a call took.
"""

import json
import sys
import time

from gradio_client import Client

URL, SECONDS = sys.argv[1], float(sys.argv[2])

counts = {"tried": 0, "right": 0, "wrong": 0, "failed": 0, "longest_s": 0.0, "messages": []}
client = None
deadline = time.monotonic() + SECONDS
i = 0
while time.monotonic() < deadline:
    i += 1
    started = time.monotonic()
    try:
        if client is None:
            client = Client(URL, verbose=False)
        counts["tried"] += 1
        out = client.predict(i, 0.5, api_name="/add")
        took = time.monotonic() - started
        counts["longest_s"] = max(counts["longest_s"], took)
        if out == i + 0.5:
            counts["right"] += 1
        else:
            counts["wrong"] += 1
            counts["messages"].append(f"call {i}: got {out!r}")
    except Exception as e:  # noqa: BLE001 - every failure is counted and the loop goes on
        counts["failed"] += 1
        message = f"{type(e).__name__}: {e}"[:200]
        if message not in counts["messages"] and len(counts["messages"]) < 8:
            counts["messages"].append(message)
        client = None
        time.sleep(0.2)
print(json.dumps(counts), flush=True)
