"""Runs the official Python client, gradio_client, against a gradio-compat server.

Usage: python suite.py URL WRITE_TOKEN

The server is the tracking_server example's registry plus a `slow` endpoint that runs until
cancelled (see interop/rust/tests/clients.rs, which starts it and runs this file). Prints one
line per scenario and ends with "N passed, M failed"; exits 1 when anything failed.
"""

import os
import sys
import tempfile
import time

from gradio_client import Client, handle_file
from harness import finish, scenario
from gradio_client.exceptions import AppError

URL, TOKEN = sys.argv[1], sys.argv[2]
ENDPOINTS = {
    "/log": ["project", "run", "metrics", "step", "hf_token", "run_id"],
    "/bulk_log": ["logs", "hf_token"],
    "/follow_metric": ["project", "run", "metric_name", "max_values", "timeout_s"],
    "/get_all_projects": [],
    "/get_runs_for_project": ["project"],
    "/get_metrics_for_run": ["project", "run", "run_id"],
    "/get_metric_values": ["project", "run", "metric_name", "step", "around_step", "at_time", "window", "run_id", "max_points"],
    "/get_metric_envelope": ["project", "run", "metric_name", "buckets", "min_step", "max_step", "run_id"],
    "/get_project_summary": ["project"],
    "/get_run_summary": ["project", "run", "run_id"],
    "/export_metrics": ["project", "run"],
    "/upload_artifact": ["project", "file", "hf_token"],
    "/bulk_log_system": ["logs", "hf_token"],
    "/get_system_metrics_for_run": ["project", "run", "run_id"],
    "/get_system_logs": ["project", "run", "run_id"],
    "/bulk_alert": ["alerts", "hf_token"],
    "/get_alerts": ["project", "run", "level", "since", "run_id"],
    "/bulk_upload_media": ["uploads", "hf_token"],
    "/get_settings": [],
    "/check_artifact_blobs": ["project", "digests", "hf_token"],
    "/bulk_upload_artifact_blob": ["project", "uploads", "hf_token"],
    "/artifact_log": ["project", "name", "type", "description", "metadata", "manifest", "aliases", "run_name", "run_id", "hf_token", "overwrite"],
    "/get_artifact_manifest": ["project", "name", "spec"],
    "/log_artifact_use": ["project", "version_id", "run_name", "run_id", "hf_token"],
    "/get_artifacts": ["project"],
    "/get_runs_table": ["project"],
    "/get_media": ["project", "run", "run_id"],
    "/get_system_envelope": ["project", "run", "buckets", "run_id"],
    "/get_logs": ["project", "run", "run_id", "scalar_only"],
    "/get_snapshot": ["project", "run", "step", "around_step", "at_time", "window", "run_id"],
    "/get_traces": ["project", "run", "run_id", "search", "sort", "limit", "offset", "step"],
    "/query_project": ["project", "query"],
    "/delete_run": ["project", "run", "run_id"],
    "/rename_run": ["project", "old_name", "new_name", "run_id"],
    "/count": ["n", "delay_ms"],
    "/slow": [],
}


def expect_app_error(call, needle):
    try:
        call()
    except AppError as e:
        assert needle in str(e), f"{needle!r} not in {str(e)!r}"
        return
    raise AssertionError(f"expected an AppError containing {needle!r}")


client = Client(URL, token=TOKEN, verbose=False)
anonymous = Client(URL, verbose=False)
artifact = os.path.join(tempfile.mkdtemp(), "weights.bin")
with open(artifact, "wb") as f:
    f.write(b"hello")
HELLO_SHA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


@scenario("view_api lists every endpoint with its parameter names")
def _():
    info = client.view_api(print_info=False, return_format="dict")
    named = info["named_endpoints"]
    assert set(named) == set(ENDPOINTS), sorted(named)
    for api, params in ENDPOINTS.items():
        assert [p["parameter_name"] for p in named[api]["parameters"]] == params, api
    text = client.view_api(print_info=False, return_format="str")
    assert 'api_name="/log"' in text


@scenario("predict, positional arguments, every endpoint")
def _():
    assert client.predict("py-pos", "r1", {"loss": 0.5}, api_name="/log") is None
    assert client.predict("py-pos", "r1", {"loss": 0.25}, 7, api_name="/log") is None
    n = client.predict([{"project": "py-pos", "run": "r2", "metrics": {"acc": 1.0}}], api_name="/bulk_log")
    assert n is None, n
    assert "py-pos" in client.predict(api_name="/get_all_projects")
    assert [r["name"] for r in client.predict("py-pos", api_name="/get_runs_for_project")] == ["r1", "r2"]
    values = client.predict("py-pos", "r1", "loss", api_name="/get_metric_values")
    assert [v["step"] for v in values] == [0, 7], values
    path = client.predict("py-pos", "r1", api_name="/export_metrics")
    with open(path) as f:
        csv = f.read()
    assert csv.startswith("step,metric,value,timestamp\n") and '"loss",0.25' in csv, csv
    art = client.predict("py-pos", handle_file(artifact), api_name="/upload_artifact")
    assert art == {"name": "weights.bin", "size": 5, "sha256": HELLO_SHA}, art


@scenario("predict, keyword arguments, every endpoint")
def _():
    assert client.predict(project="py-kw", run="r1", metrics={"loss": 1.5}, api_name="/log") is None
    n = client.predict(logs=[{"project": "py-kw", "run": "r1", "metrics": {"loss": 1.0}, "step": 5}], api_name="/bulk_log")
    assert n is None
    assert [r["id"] for r in client.predict(project="py-kw", api_name="/get_runs_for_project")] == ["r1"]
    at5 = client.predict(project="py-kw", run="r1", metric_name="loss", step=5, api_name="/get_metric_values")
    assert [v["value"] for v in at5] == [1.0], at5
    path = client.predict(project="py-kw", run="r1", api_name="/export_metrics")
    assert os.path.getsize(path) > 0
    art = client.predict(project="py-kw", file=handle_file(artifact), api_name="/upload_artifact")
    assert art["sha256"] == HELLO_SHA


@scenario("a token passed as hf_token reaches the write check; a wrong one fails with our message")
def _():
    assert anonymous.predict(project="py-tok", run="r", metrics={"x": 1}, hf_token=TOKEN, api_name="/log") is None
    expect_app_error(lambda: anonymous.predict("py-tok", "r", {"x": 1}, api_name="/log"), "needs a write token")
    wrong = Client(URL, token="not-the-token", verbose=False)
    expect_app_error(lambda: wrong.predict("py-tok", "r", {"x": 1}, api_name="/log"), "the write token is wrong")
    # Reads need no token.
    assert "py-tok" in anonymous.predict(api_name="/get_all_projects")


@scenario("a handler error surfaces as AppError with the handler's message")
def _():
    expect_app_error(
        lambda: client.predict("no-such-project", "r", "loss", api_name="/get_metric_values"),
        'unknown project "no-such-project"',
    )


@scenario("submit().result()")
def _():
    job = client.submit("py-submit", "r", {"loss": 2.0}, api_name="/log")
    assert job.result(timeout=30) is None
    job = client.submit(project="py-submit", run="r", metric_name="loss", api_name="/get_metric_values")
    assert job.result(timeout=30)[0]["value"] == 2.0


@scenario("submit() iterates the partial outputs of a stream, with progress")
def _():
    job = client.submit(4, 50, api_name="/count")
    seen = [out for out in job]
    assert seen == [0, 1, 2, 3], seen
    assert job.result(timeout=30) == 3
    assert job.outputs() == [0, 1, 2, 3], job.outputs()
    # Progress shows in job.status() while the job works between items.
    job = client.submit(3, 200, api_name="/count")
    deadline = time.monotonic() + 30
    progress = set()
    while not job.done():
        assert time.monotonic() < deadline
        status = job.status()
        if status.progress_data:
            unit = status.progress_data[-1]
            assert (unit.length, unit.unit, unit.desc) == (3, "steps", "counting"), unit
            progress.add(unit.index)
        time.sleep(0.01)
    assert progress, "no progress reached job.status()"


@scenario("follow_metric streams values as they are logged")
def _():
    job = client.submit("py-follow", "live", "loss", 2, 20, api_name="/follow_metric")
    deadline = time.monotonic() + 30
    value = 0.0
    # Log until the follower has seen two values: it only sees values logged after it starts.
    while not job.done():
        assert time.monotonic() < deadline, "follow_metric never finished"
        value += 1.0
        client.predict("py-follow", "live", {"loss": value}, api_name="/log")
        time.sleep(0.05)
    outputs = job.outputs()
    assert len(outputs) == 2 and outputs[1]["value"] > outputs[0]["value"], outputs
    assert job.result()["value"] == outputs[-1]["value"]


@scenario("bulk_log reports progress and runs one at a time")
def _():
    logs = [{"project": "py-bulk", "run": "r", "metrics": {"x": float(i)}} for i in range(50)]
    jobs = [client.submit(logs, api_name="/bulk_log") for _ in range(3)]
    assert [j.result(timeout=30) for j in jobs] == [None, None, None]
    values = client.predict("py-bulk", "r", "x", api_name="/get_metric_values")
    assert len(values) == 150


@scenario("a running job is cancelled")
def _():
    job = client.submit(api_name="/slow")
    deadline = time.monotonic() + 30
    while job.status().code.name not in ("PROCESSING", "ITERATING"):
        assert time.monotonic() < deadline, job.status()
        time.sleep(0.05)
    assert job.cancel() is True
    while not job.done():
        assert time.monotonic() < deadline, "the cancelled job never finished"
        time.sleep(0.05)
    assert job.status().code.name == "CANCELLED", job.status()


finish()
