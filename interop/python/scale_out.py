"""Runs the official Python client, gradio_client, against replicas of the scale_out example
behind a round-robin proxy with no stickiness: every request (config, upload, queue join, the
queue's data stream, file downloads, cancel) may land on another replica.

Usage: python scale_out.py URL

Started by interop/rust/tests/scale_out.rs. Prints one line per scenario and ends with
"N passed, M failed"; exits 1 when anything failed.
"""

import concurrent.futures
import os
import sys
import tempfile
import time

from gradio_client import Client, handle_file
from harness import finish, scenario

URL = sys.argv[1]


client = Client(URL, verbose=False)


@scenario("view_api lists the four endpoints")
def _():
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(named) == {"/add", "/count", "/echo_file", "/sleep"}, sorted(named)


@scenario("predict, positional and keyword")
def _():
    assert client.predict(1, 2, api_name="/add") == 3.0
    assert client.predict(a=2.5, b=0.5, api_name="/add") == 3.0


@scenario("twenty predicts at once, each answered right")
def _():
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(client.predict, i, i, api_name="/add") for i in range(20)]
        assert [f.result(timeout=60) for f in futures] == [2.0 * i for i in range(20)]


@scenario("submit() iterates a stream's partial outputs")
def _():
    job = client.submit(4, 20, api_name="/count")
    seen = [out for out in job]
    assert seen == [0, 1, 2, 3], seen
    assert job.result(timeout=30) == 3


@scenario("a file goes up to one replica and comes back from another")
def _():
    path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    with open(path, "w") as f:
        f.write("round robin")
    for _ in range(3):
        out = client.predict(handle_file(path), api_name="/echo_file")
        with open(out) as f:
            assert f.read() == "round robin"


@scenario("a running job is cancelled through another replica")
def _():
    job = client.submit(600, api_name="/sleep")
    deadline = time.monotonic() + 30
    while job.status().code.name not in ("PROCESSING", "ITERATING"):
        assert time.monotonic() < deadline, job.status()
        time.sleep(0.05)
    assert job.cancel() is True
    while not job.done():
        assert time.monotonic() < deadline, "the cancelled job never finished"
        time.sleep(0.05)


finish()
