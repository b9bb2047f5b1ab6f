"""Trackio's own client and CLI (the `trackio` package, pinned in requirements.txt) against the
tracking server. Run by interop/rust/tests/trackio.rs: python trackio_suite.py <url> <token>.

A training loop logs through `trackio.init(server_url=...)` (config, explicit steps, several
runs, resume="must" and "allow"); then `trackio --space <url> list|get ...` reads it back and
the values must match."""

import json
import os
import subprocess
import sys
import tempfile

from harness import finish, scenario

URL, TOKEN = sys.argv[1], sys.argv[2]
# Trackio keeps local state (a buffer, settings) under these: a fresh place per run.
home = tempfile.mkdtemp()
os.environ["HF_HOME"] = home
os.environ["TRACKIO_DIR"] = os.path.join(home, "trackio")
os.environ["TRACKIO_WRITE_TOKEN"] = TOKEN

import trackio  # noqa: E402 (after the environment is set)

CLI = os.path.join(os.path.dirname(sys.executable), "trackio")
LOSS = {step: round(1.0 / (step + 1), 6) for step in range(20)}


def cli(*args):
    out = subprocess.run([CLI, "--space", URL, *args, "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return json.loads(out.stdout)


@scenario("a training loop logs through trackio.init(server_url=...), with config and steps")
def _():
    trackio.init(project="tp", name="r1", server_url=URL, config={"lr": 0.1, "layers": 2})
    for step in range(20):
        trackio.log({"loss": LOSS[step], "acc": step / 20})
    trackio.finish()
    trackio.init(project="tp", name="r2", server_url=URL)
    for step in [0, 5, 10]:
        trackio.log({"loss": step * 0.5}, step=step)
    trackio.finish()


@scenario('resume="must" continues an existing run, resume="allow" starts or continues one')
def _():
    trackio.init(project="tp", name="r1", server_url=URL, resume="must")
    trackio.log({"loss": 0.001})
    trackio.finish()
    trackio.init(project="tp", name="r3", server_url=URL, resume="allow")
    trackio.log({"loss": 3.0})
    trackio.finish()
    try:
        trackio.init(project="tp", name="nope", server_url=URL, resume="must")
    except Exception as e:  # noqa: BLE001 - trackio raises a plain error for an unknown run
        assert "nope" in str(e), e
    else:
        raise AssertionError('resume="must" accepted an unknown run')


@scenario("trackio list projects / runs / metrics read it back")
def _():
    assert "tp" in cli("list", "projects")["projects"]
    runs = cli("list", "runs", "--project", "tp")["runs"]
    assert sorted(runs) == ["r1", "r2", "r3"], runs
    metrics = cli("list", "metrics", "--project", "tp", "--run", "r1")
    names = metrics["metrics"] if isinstance(metrics, dict) else metrics
    assert sorted(names) == ["acc", "loss"], metrics


@scenario("trackio get project / run / metric match what was logged")
def _():
    project = cli("get", "project", "--project", "tp")
    assert project["num_runs"] == 3, project
    run = cli("get", "run", "--project", "tp", "--run", "r1")
    assert run["num_logs"] == 21, run
    assert run["config"]["lr"] == 0.1 and run["config"]["layers"] == 2, run
    assert run["last_step"] == 20, run
    metric = cli("get", "metric", "--project", "tp", "--run", "r1", "--metric", "loss")
    values = metric["values"] if isinstance(metric, dict) else metric
    got = {v["step"]: v["value"] for v in values}
    assert {s: got[s] for s in LOSS} == LOSS, got
    assert got[20] == 0.001, got
    explicit = cli("get", "metric", "--project", "tp", "--run", "r2", "--metric", "loss")
    values = explicit["values"] if isinstance(explicit, dict) else explicit
    assert [(v["step"], v["value"]) for v in values] == [(0, 0.0), (5, 2.5), (10, 5.0)], values


finish()
