"""Everything else Trackio's client and CLI do (the `trackio` package, pinned in
requirements.txt) against the tracking server: exact values, system metrics, alerts, media,
artifacts, logs and reports, snapshots, traces, SQL, run management. Run by
interop/rust/tests/trackio.rs: python trackio_full_suite.py <url> <token> <media_dir> <mode>,
where <mode> says which protocol the server offers Trackio's client: "trackio-api" (Trackio's
own HTTP API, which the client prefers) or "gradio" (Gradio only; then the artifact scenario
is not run, since the Gradio client takes manifest entries for files to download).

Each trackio process has its own empty home and Trackio folder, so a read can only be
answered by the server. A client warning that data could not be sent or was kept locally
fails the scenario, and so does anything left in the client's local buffer."""

import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import warnings
import wave

import httpx

from harness import finish, scenario

URL, TOKEN, MEDIA_DIR, MODE = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
home = tempfile.mkdtemp()
os.environ["HF_HOME"] = home
os.environ["TRACKIO_DIR"] = os.path.join(home, "trackio")
os.environ["TRACKIO_WRITE_TOKEN"] = TOKEN

import numpy as np  # noqa: E402
import trackio  # noqa: E402 (after the environment is set)
from trackio.sqlite_storage import SQLiteStorage  # noqa: E402

CLI = os.path.join(os.path.dirname(sys.executable), "trackio")
PROJECT = "full"

# The values that must come back bit for bit, through every read.
EXACT = {
    "tenth": 0.1,
    "tiny": -1.5e-300,
    "subnormal": 5e-324,
    "huge": 1e308,
    "negzero": -0.0,
    "big_int": 2**53 + 2,
    "seventeen": 1.2345678901234567,
    "third": 0.30000000000000004,
}

# Every warning the client emits; the ones about unsent or locally kept data fail a scenario.
CAUGHT = []
_show = warnings.showwarning


def _record(message, category, filename, lineno, file=None, line=None):
    CAUGHT.append(str(message))
    _show(message, category, filename, lineno, file, line)


warnings.showwarning = _record
BAD = ("could not", "saved locally", "buffered", "failed", "does not support", "skipped")


def no_client_trouble(project=PROJECT):
    bad = [w for w in CAUGHT if any(b in w.lower() for b in BAD)]
    CAUGHT.clear()
    assert not bad, bad
    assert not SQLiteStorage.has_pending_data(project), "the client kept data locally"


def same(a, b):
    """Equal to the bit: floats by their IEEE 754 bits (so -0.0 is not 0.0), ints exactly."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, float) and isinstance(b, float) and struct.pack("<d", a) == struct.pack("<d", b)
    return type(a) is type(b) and a == b


def cli(*args, json_out=True, ok=True):
    """The CLI in a fresh, empty home of its own."""
    own = tempfile.mkdtemp()
    env = dict(os.environ, HF_HOME=own, TRACKIO_DIR=os.path.join(own, "trackio"))
    argv = [CLI, *args, "--space", URL]
    if json_out:
        argv.append("--json")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    if not ok:
        assert out.returncode != 0, (args, out.stdout)
        return out.stdout + out.stderr
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return json.loads(out.stdout) if json_out else out.stdout


def call(api, *data):
    """Call + poll over plain HTTP, as an agent does; the value parsed by Python's json."""
    r = httpx.post(f"{URL}/gradio_api/call/{api}", json={"data": list(data)},
                   headers={"x-trackio-write-token": TOKEN}, timeout=60)
    assert r.status_code == 200, r.text
    event = r.json()["event_id"]
    text = httpx.get(f"{URL}/gradio_api/call/{api}/{event}", timeout=60).text
    frames = [f for f in text.split("\n\n") if f.strip()]
    last = frames[-1].splitlines()
    assert last[0] == "event: complete", text
    return json.loads(last[1][len("data: "):])[0]


@scenario("exact values: logged by trackio.log, read back bit for bit by the CLI, HTTP, export_metrics and follow_metric")
def _():
    from gradio_client import Client

    follower = Client(URL, verbose=False).submit(PROJECT, "exact", "", len(EXACT), 30, api_name="/follow_metric")
    # Wait until it listens (its first status), then log.
    for _ in range(100):
        if follower.status().code.name in ("PROCESSING", "ITERATING"):
            break
        import time

        time.sleep(0.05)
    trackio.init(project=PROJECT, name="exact", server_url=URL, config={"lr": 5e-324, "eps": -1.5e-300})
    trackio.log(dict(EXACT), step=2)
    trackio.log({"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")}, step=3)
    trackio.finish()
    no_client_trouble()

    for name, want in EXACT.items():
        got = cli("get", "metric", "--project", PROJECT, "--run", "exact", "--metric", name)["values"]
        assert len(got) == 1 and same(got[0]["value"], want), (name, got, want)
        http = call("get_metric_values", PROJECT, "exact", name)
        assert same(http[0]["value"], want), (name, http, want)
    run = cli("get", "run", "--project", PROJECT, "--run", "exact")
    assert same(run["config"]["lr"], 5e-324) and same(run["config"]["eps"], -1.5e-300), run["config"]
    snapshot = cli("get", "snapshot", "--project", PROJECT, "--run", "exact", "--step", "2")["metrics"]
    for name, want in EXACT.items():
        assert same(snapshot[name][0]["value"], want), (name, snapshot[name])
    logs = call("get_logs", PROJECT, "exact")
    for name, want in EXACT.items():
        assert same(logs[0][name], want), (name, logs[0])
    rows = call("query_project", PROJECT, "SELECT metrics FROM metrics WHERE step = 2")["rows"]
    for name, want in EXACT.items():
        assert same(json.loads(rows[0]["metrics"])[name], want), (name, rows)

    # Non-finite values: Trackio's client sends them as the strings "NaN", "Infinity",
    # "-Infinity"; they come back as those strings.
    special = call("get_snapshot", PROJECT, "exact", 3)
    assert {k: v[0]["value"] for k, v in special.items()} == {"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity"}, special

    # export_metrics: a CSV whose values parse back to the same bits.
    exported = Client(URL, verbose=False).predict(PROJECT, "exact", api_name="/export_metrics")
    with open(exported) as f:
        lines = f.read().splitlines()[1:]
    found = {}
    for line in lines:
        step, name, value, _ = line.split(",", 3)
        found[name.strip('"')] = value
    for name, want in EXACT.items():
        got = int(found[name]) if isinstance(want, int) else float(found[name])
        assert same(got, want), (name, found[name])

    # follow_metric saw each value as it was logged.
    seen = {p["metric"]: p["value"] for p in follower.outputs() if isinstance(p, dict)}
    follower.result()
    for name, want in EXACT.items():
        assert same(seen[name], want), (name, seen.get(name))


@scenario("log_system and log_cpu: system metrics reach the server; trackio list/get system-metric read them back")
def _():
    trackio.init(project=PROJECT, name="sys", server_url=URL)
    trackio.log({"loss": 1.0})
    trackio.log_system({"gpu/0/utilization": 87.5, "gpu/0/memory": 0.1, "cpu/percent": 5e-324})
    trackio.log_system({"gpu/0/utilization": 90.0})
    cpu = trackio.log_cpu()  # the real CPU/RAM logger (psutil)
    trackio.finish()
    no_client_trouble()
    assert cpu, cpu
    cpu_names = cli("list", "system-metrics", "--project", PROJECT, "--run", "sys")["system_metrics"]
    assert set(cpu) <= set(cpu_names) | {"timestamp"}, (sorted(cpu), cpu_names)
    one = sorted(k for k, v in cpu.items() if isinstance(v, (int, float)))[0]
    read = cli("get", "system-metric", "--project", PROJECT, "--run", "sys", "--metric", one)["values"]
    assert same(read[-1][one], cpu[one]), (one, read, cpu[one])
    names = cli("list", "system-metrics", "--project", PROJECT, "--run", "sys")["system_metrics"]
    assert {"cpu/percent", "gpu/0/memory", "gpu/0/utilization"} <= set(names), names
    values = cli("get", "system-metric", "--project", PROJECT, "--run", "sys", "--metric", "gpu/0/utilization")["values"]
    assert [v["gpu/0/utilization"] for v in values] == [87.5, 90.0], values
    everything = cli("get", "system-metric", "--project", PROJECT, "--run", "sys")["system_metrics"]
    assert same(everything[0]["cpu/percent"], 5e-324) and "timestamp" in everything[0], everything


@scenario("alert: alerts are kept; trackio list alerts / get alerts filter by run, level and time")
def _():
    trackio.init(project=PROJECT, name="alerts", server_url=URL)
    trackio.log({"loss": 2.0})
    trackio.alert("loss is high", text="2.0 > 1.0", level=trackio.AlertLevel.WARN)
    for step in range(7):
        trackio.log({"loss": 2.0 + step})
    trackio.alert("diverged", level=trackio.AlertLevel.ERROR)
    trackio.finish()
    no_client_trouble()
    alerts = cli("list", "alerts", "--project", PROJECT, "--run", "alerts")["alerts"]
    assert [a["title"] for a in alerts] == ["diverged", "loss is high"], alerts
    assert alerts[1]["text"] == "2.0 > 1.0" and alerts[1]["level"] == "warn" and alerts[0]["step"] == 7, alerts
    errors = cli("get", "alerts", "--project", PROJECT, "--level", "error")["alerts"]
    assert [a["title"] for a in errors] == ["diverged"] and errors[0]["run"] == "alerts", errors
    later = cli("get", "alerts", "--project", PROJECT, "--since", "2999-01-01T00:00:00")["alerts"]
    assert later == [], later


def fetch_media(file_path, headers=None):
    return httpx.get(f"{URL}/gradio_api/file={MEDIA_DIR}/{file_path}", headers=headers or {}, timeout=60)


@scenario("media: Image, Audio, Video, Table and Histogram logged; the files reach the server and come back byte for byte, audio and video by range")
def _():
    trackio.init(project=PROJECT, name="media", server_url=URL)
    pixels = (np.arange(32 * 32 * 3) % 251).astype(np.uint8).reshape(32, 32, 3)
    wav = os.path.join(home, "tone.wav")
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((np.sin(np.arange(8000) / 5) * 3000).astype("<i2").tobytes())
    mp4 = os.path.join(home, "clip.mp4")
    with open(mp4, "wb") as f:
        f.write(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    table = trackio.Table(columns=["x", "img"], data=[[1, trackio.Image(pixels, caption="in a table")]])
    trackio.log({
        "image": trackio.Image(pixels, caption="a gradient"),
        "audio": trackio.Audio(wav, caption="a tone"),
        "video": trackio.Video(mp4, caption="a clip"),
        "table": table,
        "hist": trackio.Histogram([0.1, 0.2, 0.2, 5e-324]),
    }, step=3)
    trackio.finish()
    no_client_trouble()

    logs = call("get_logs", PROJECT, "media")
    row = logs[0]
    assert row["step"] == 3, row
    checked = 0
    for key in ("image", "audio", "video"):
        value = row[key]
        local = os.path.join(os.environ["TRACKIO_DIR"], "media", value["file_path"])
        with open(local, "rb") as f:
            want = f.read()
        got = fetch_media(value["file_path"])
        assert got.status_code == 200 and got.content == want, (key, got.status_code, len(got.content), len(want))
        assert got.headers["accept-ranges"] == "bytes", got.headers
        checked += 1
        if key in ("audio", "video"):
            part = fetch_media(value["file_path"], {"range": "bytes=10-99"})
            assert part.status_code == 206 and part.content == want[10:100], (key, part.status_code)
            assert part.headers["content-range"] == f"bytes 10-99/{len(want)}", part.headers
    assert fetch_media(row["video"]["file_path"]).headers["content-type"] == "video/mp4"
    assert fetch_media(row["audio"]["file_path"]).headers["content-type"] == "audio/wav"
    # A table's images are uploaded too.
    cells = json.dumps(row["table"])
    nested = [v for v in json.loads(cells)["_value"] if isinstance(v, dict)] if isinstance(json.loads(cells).get("_value"), list) else []
    paths = [c["img"]["file_path"] for c in nested if isinstance(c.get("img"), dict)]
    for p in paths:
        with open(os.path.join(os.environ["TRACKIO_DIR"], "media", p), "rb") as f:
            assert fetch_media(p).content == f.read()
    assert row["hist"]["_type"] == "trackio.histogram", row["hist"]
    assert checked == 3
    # The CLI's view of the same step.
    names = cli("list", "metrics", "--project", PROJECT, "--run", "media")["metrics"]
    assert {"image", "audio", "video", "table", "hist"} <= set(names), names


def artifacts():
    folder = os.path.join(home, "model")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "weights.bin"), "wb") as f:
        f.write(bytes(range(256)) * 1000)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write('{"layers": 2}')
    trackio.init(project=PROJECT, name="producer", server_url=URL)
    art = trackio.log_artifact(folder, name="model", type="model", aliases=["best"])
    assert str(art.version) == "v0", art.version
    again = trackio.log_artifact(folder, name="model", type="model")
    assert str(again.version) == "v0", again.version  # same content, same version
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write('{"layers": 3}')
    second = trackio.log_artifact(folder, name="model", type="model")
    assert str(second.version) == "v1", second.version
    trackio.finish()
    no_client_trouble()

    trackio.init(project=PROJECT, name="consumer", server_url=URL)
    used = trackio.use_artifact("model:best")
    assert str(used.version) == "v0", used.version
    out = used.download(os.path.join(tempfile.mkdtemp(), "dl"))
    with open(os.path.join(out, "weights.bin"), "rb") as f:
        assert f.read() == bytes(range(256)) * 1000
    with open(os.path.join(out, "config.json")) as f:
        assert f.read() == '{"layers": 2}'
    latest = trackio.use_artifact("model")
    assert str(latest.version) == "v1", latest.version
    trackio.finish()
    no_client_trouble()

    listed = cli("list", "artifacts", "--project", PROJECT)["artifacts"]
    assert [(a["name"], a["num_versions"], a["latest_version"]) for a in listed] == [("model", 2, 1)], listed
    assert set(listed[0]["aliases"]) == {"best", "latest"}, listed
    record = cli("get", "artifact", "--project", PROJECT, "--name", "model", "--version", "v0")
    assert sorted(e["path"] for e in record["manifest"]) == ["config.json", "weights.bin"], record
    assert record["size_bytes"] == 256000 + len('{"layers": 2}'), record
    cli("get", "artifact", "--project", PROJECT, "--name", "nope", json_out=False, ok=False)


if MODE == "trackio-api":
    scenario("artifacts: log_artifact, use_artifact and download; trackio list/get artifacts")(artifacts)


@scenario("the client used the protocol it was given")
def _():
    from trackio.remote_client import RemoteClient

    client = RemoteClient(URL, write_token=TOKEN)._client
    want = "_TrackioHTTPClient" if MODE == "trackio-api" else "_TrackioGradioCompatClient"
    assert type(client).__name__ == want, type(client)


@scenario("reports and traces: trackio list/get reports and traces, get trace-summary (SQL over the traces table)")
def _():
    trackio.init(project=PROJECT, name="agent", server_url=URL)
    trackio.log({"notes": trackio.Markdown("# Results\nall good"), "loss": 0.5}, step=0)
    trace = trackio.Trace(
        messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        metadata={"model": "tiny"},
        spans=[
            {"name": "generate", "kind": "llm", "duration_ms": 12.5, "cost_usd": 5e-324,
             "usage": {"input_tokens": 3, "output_tokens": 5}},
            {"name": "generate", "kind": "llm", "duration_ms": 7.5, "status": "error",
             "usage": {"input_tokens": 1, "output_tokens": 0}},
        ],
    )
    trackio.log({"chat": trace}, step=1)
    trackio.finish()
    no_client_trouble()
    reports = cli("list", "reports", "--project", PROJECT, "--run", "agent")["reports"]
    assert [(r["report"], r["step"]) for r in reports] == [("notes", 0)], reports
    report = cli("get", "report", "--project", PROJECT, "--run", "agent", "--report", "notes")
    assert "all good" in json.dumps(report), report
    traces = cli("list", "traces", "--project", PROJECT, "--run", "agent")["traces"]
    assert len(traces) == 1 and traces[0]["messages"][1]["content"] == "hello", traces
    one = cli("get", "trace", "--project", PROJECT, "--run", "agent", "--trace-id", traces[0]["id"])
    assert one["metadata"] == {"model": "tiny"}, one
    assert same(one["spans"][0]["cost_usd"], 5e-324), one["spans"]
    summary = cli("get", "trace-summary", "--project", PROJECT, "--run", "agent")
    assert summary["rows"] == [{
        "operation": "generate", "kind": "llm", "calls": 2, "errors": 1, "avg_ms": 10.0,
        "max_ms": 12.5, "input_tokens": 4, "output_tokens": 5, "cost_usd": 0.0,
    }], summary


@scenario("query_project: the CLI's SQL over the project; writes, attach, pragmas and other projects refused")
def _():
    result = cli("query", "project", "--project", PROJECT, "--sql",
                 "SELECT run_name, COUNT(*) AS n FROM metrics GROUP BY run_name ORDER BY run_name")
    runs = {r["run_name"]: r["n"] for r in result["rows"]}
    assert runs["exact"] == 2 and result["columns"] == ["run_name", "n"], result
    # Each refused with a message that says why; the CLI shows it (as the error it raises).
    for hostile, why in [
        ("DELETE FROM metrics", "must start with SELECT"),
        ("SELECT 1; DROP TABLE runs", "read-only"),
        ("WITH x AS (SELECT 1) DELETE FROM runs", "read-only"),
        ("WITH x AS (SELECT 1) DELETE FROM main.logs", "read-only"),
        ("WITH x AS (SELECT 1) INSERT INTO main.runs VALUES ('p', 'i', 'n', 'c', NULL)", "read-only"),
        ("ATTACH DATABASE '/tmp/x.db' AS x", "must start with SELECT"),
        ("PRAGMA journal_mode=DELETE", "read-only"),
        ("PRAGMA writable_schema", "read-only"),
        ("SELECT * FROM main.logs", "read-only"),
        ("SELECT * FROM sqlite_master", "read-only"),
        ("SELECT load_extension('x')", "read-only"),
        ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c", "more than 10000 rows"),
        ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c", "was stopped"),
    ]:
        text = cli("query", "project", "--project", PROJECT, "--sql", hostile,
                   json_out=False, ok=False)
        assert why in text, (hostile, text)
    # Other projects' rows are out of sight.
    call("log", "someone-else", "r1", {"secret": 1})
    other = call("query_project", PROJECT, "SELECT COUNT(*) AS n FROM runs WHERE name = 'r1'")
    assert other["rows"] == [{"n": 0}], other


@scenario("run management: rename and delete a run, read back through the CLI")
def _():
    trackio.init(project=PROJECT, name="old-name", server_url=URL)
    trackio.log({"loss": 0.25})
    trackio.finish()
    no_client_trouble()
    assert call("rename_run", PROJECT, "old-name", "new-name") is True
    runs = cli("list", "runs", "--project", PROJECT)["runs"]
    assert "new-name" in runs and "old-name" not in runs, runs
    values = cli("get", "metric", "--project", PROJECT, "--run", "new-name", "--metric", "loss")["values"]
    assert [v["value"] for v in values] == [0.25], values
    assert call("delete_run", PROJECT, "new-name") is True
    assert "new-name" not in cli("list", "runs", "--project", PROJECT)["runs"]
    assert call("delete_run", PROJECT, "new-name") is False


finish()
