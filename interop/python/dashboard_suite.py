"""The tracking server's dashboard in a real headless Chromium (Debian's, driven by
Playwright for Python, pinned in requirements.txt). Run by interop/rust/tests/dashboard.rs:

    python dashboard_suite.py <url> <write-token> <screenshot.png>

The server has a write token: the suite logs with it, the page reads without one. Each
scenario checks what a person sees: charts, lines and their points, live growth without a
reload, deep links and their messages, a large project."""

import json
import math
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

from harness import finish, scenario
from playwright.sync_api import sync_playwright

URL, TOKEN, SCREENSHOT = sys.argv[1], sys.argv[2], sys.argv[3]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def api(name, data, token=TOKEN):
    """One call+poll of the Gradio API; returns the output."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = json.dumps({"data": data}).encode()
    start = urllib.request.Request(f"{URL}/gradio_api/call/{name}", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(start, timeout=60) as r:
        event_id = json.load(r)["event_id"]
    with urllib.request.urlopen(f"{URL}/gradio_api/call/{name}/{event_id}", timeout=60) as r:
        text = r.read().decode()
    event = None
    for line in text.splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event in ("complete", "error"):
            assert event == "complete", f"{name}: {line}"
            return json.loads(line[5:])[0]
    raise AssertionError(f"{name}: no result in {text!r}")


def metrics(step, scale=1.0):
    """A made-up training curve: loss falls, accuracy rises, both a little noisy."""
    return {
        "loss": scale / (step + 1) + 0.01 * math.sin(step),
        "acc": 1 - 0.9 * math.exp(-step / (20 * scale)) + 0.005 * math.cos(3 * step),
    }


def log_steps(project, run, steps, scale=1.0):
    logs = [{"project": project, "run": run, "step": s, "metrics": metrics(s, scale)} for s in steps]
    api("bulk_log", [logs])


class CuttableProxy:
    """A loopback TCP proxy in front of the server whose open connections can be cut at once,
    as a network drop or a restarting server would."""

    def __init__(self, target):
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for a, b in [(client, upstream), (upstream, client)]:
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            cut, self.open = self.open, []
        for s in cut:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.listener.close()
        self.cut()


def vertices(page, metric, run):
    """How many points the line of `run` in the chart of `metric` is drawn through (0 if none)."""
    return page.evaluate(
        """([metric, run]) => {
            const line = document.querySelector(
                `figure.chart[data-metric="${CSS.escape(metric)}"] polyline[data-run="${CSS.escape(run)}"]`);
            return line ? line.getAttribute("points").trim().split(/\\s+/).length : 0;
        }""",
        [metric, run],
    )


def wait_for(page, what, check, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(50)


log_steps("demo", "baseline", range(50))
log_steps("demo", "wider", range(50), scale=0.5)
log_steps("other", "solo", range(5))

browser_errors = []

with sync_playwright() as pw:
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium"
    browser = pw.chromium.launch(executable_path=CHROMIUM)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("pageerror", lambda e: browser_errors.append(str(e)))
    calls = []
    page.on("request", lambda r: calls.append(r.url) if r.method == "POST" else None)

    @scenario("the page lists projects; picking one draws a chart per metric, a line per run")
    def _():
        page.goto(URL + "/")
        page.wait_for_selector("body[data-ready=true]")
        options = page.eval_on_selector_all("#project option", "os => os.map(o => o.value)")
        assert {"demo", "other"} <= set(options), options
        page.select_option("#project", "demo")
        for metric in ["loss", "acc"]:
            for run in ["baseline", "wider"]:
                wait_for(page, f"{metric}/{run} drawn", lambda: vertices(page, metric, run) == 50)
        charts = page.eval_on_selector_all("figure.chart", "fs => fs.map(f => f.dataset.metric)")
        assert charts == ["acc", "loss"], charts
        runs = page.eval_on_selector_all("#runs li", "ls => ls.map(l => l.dataset.run)")
        assert runs == ["baseline", "wider"], runs
        legend = page.inner_text('figure.chart[data-metric="loss"] .legend')
        assert "baseline" in legend and "wider" in legend, legend
        ticks = page.eval_on_selector_all('figure.chart[data-metric="loss"] .axes text', "ts => ts.map(t => t.textContent)")
        assert "step" in ticks and "0" in ticks, ticks
        assert "project=demo" in page.url, page.url

    @scenario("hovering a chart reads out the points under the cursor")
    def _():
        box = page.locator('figure.chart[data-metric="loss"] svg').bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        text = page.inner_text('figure.chart[data-metric="loss"] .readout')
        assert text.startswith("step ") and "baseline: " in text and "wider: " in text, text

    @scenario("lines grow live as points are logged, with no reload and no re-query")
    def _():
        page.evaluate("window.__same_page = true")
        page.wait_for_selector("body[data-live=live]")
        calls.clear()
        for step in range(50, 60):
            api("log", ["demo", "baseline", metrics(step), step])
        wait_for(page, "the live line to reach 60 points", lambda: vertices(page, "loss", "baseline") == 60)
        wait_for(page, "acc too", lambda: vertices(page, "acc", "baseline") == 60)
        assert vertices(page, "loss", "wider") == 50
        assert page.evaluate("window.__same_page") is True, "the page was reloaded"
        reads = [u for u in calls if "/call/get_" in u]
        assert reads == [], f"the page queried again: {reads}"
        box = page.locator('figure.chart[data-metric="loss"] svg').bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
        bottom = page.evaluate("document.querySelector('main').getBoundingClientRect().bottom")
        page.screenshot(path=SCREENSHOT, clip={"x": 0, "y": 0, "width": 1280, "height": min(900, bottom + 8)})

    @scenario("a stream that ends is started again and misses nothing")
    def _():
        page.goto(URL + "/?project=demo&run=baseline&follow_timeout_s=1")
        wait_for(page, "the line", lambda: vertices(page, "loss", "baseline") == 60)
        page.wait_for_selector("body[data-live=live]")
        # The server ends the quiet stream after 1 s; the page starts a new one.
        wait_for(page, "a second stream", lambda: int(page.get_attribute("body", "data-streams") or 0) >= 2)
        page.wait_for_selector("body[data-live=live]", timeout=10000)
        log_steps("demo", "baseline", range(60, 65))
        wait_for(page, "growth after the reconnect", lambda: vertices(page, "loss", "baseline") == 65)
        assert vertices(page, "loss", "wider") == 0, "only the linked run is drawn"

    @scenario("a dropped connection is made again and misses nothing")
    def _():
        proxy = CuttableProxy(URL)
        try:
            page.goto(proxy.url + "/?project=demo&run=baseline")
            wait_for(page, "the line", lambda: vertices(page, "loss", "baseline") == 65)
            wait_for(page, "the stream", lambda: page.get_attribute("body", "data-streams") == "1")
            # Every connection through the proxy is closed under the page's feet ...
            proxy.cut()
            # ... and these are logged while it has no stream: read when it is back.
            log_steps("demo", "baseline", range(65, 70))
            wait_for(page, "a new stream", lambda: page.get_attribute("body", "data-streams") == "2")
            wait_for(page, "the missed points", lambda: vertices(page, "loss", "baseline") == 70)
            log_steps("demo", "baseline", range(70, 72))
            wait_for(page, "live growth again", lambda: vertices(page, "loss", "baseline") == 72)
        finally:
            proxy.close()

    @scenario("deep links open their view; unknown names say so")
    def _():
        page.goto(URL + "/?project=demo&run=wider")
        wait_for(page, "wider", lambda: vertices(page, "loss", "wider") == 50)
        assert page.is_checked('#runs li[data-run="wider"] input')
        assert not page.is_checked('#runs li[data-run="baseline"] input')
        page.goto(URL + "/?project=nope")
        page.wait_for_selector("body[data-ready=true]")
        message = page.inner_text("#message")
        assert "nope" in message and "demo" in message, message
        page.goto(URL + "/?project=demo&run=ghost")
        page.wait_for_selector("#message:not([hidden])")
        message = page.inner_text("#message")
        assert "ghost" in message and "baseline" in message, message

    @scenario("smoothing and log-scale y, set with the keyboard, change the drawing and stay in the link")
    def _():
        page.goto(URL + "/?project=demo&run=baseline")
        wait_for(page, "the line", lambda: vertices(page, "loss", "baseline") >= 50)
        drawn = vertices(page, "loss", "baseline")
        figure = 'figure.chart[data-metric="loss"]'
        span = lambda sel: page.evaluate(
            "sel => { const ys = Array.from(document.querySelector(sel).points).map(p => p.y); return Math.max(...ys) - Math.min(...ys); }",
            sel,
        )
        raw_span = span(figure + ' polyline[data-run="baseline"]')
        # The slider by keyboard, as a person without a mouse would: to its end, 0.99.
        page.focus("#smoothing")
        page.keyboard.press("End")
        smoothed = figure + ' polyline.smoothed[data-smoothed-run="baseline"]'
        wait_for(page, "the smoothed line", lambda: page.query_selector(smoothed) is not None)
        assert page.get_attribute(figure, "data-smoothing") == "0.99"
        assert "raw" in page.get_attribute(figure + ' polyline[data-run="baseline"]', "class")
        assert len(page.get_attribute(smoothed, "points").split()) == drawn
        assert span(smoothed) < raw_span, (span(smoothed), raw_span)
        assert "smoothing=0.99" in page.url, page.url
        # Log scale: y ticks are powers of ten, and the link says so.
        page.focus("#log-y")
        page.keyboard.press("Space")
        wait_for(page, "a log scale", lambda: page.get_attribute(figure, "data-y-scale") == "log")
        ticks = page.eval_on_selector_all(figure + " text.y-tick", "ts => ts.map(t => t.textContent)")
        assert ticks and all(t in ("1e-3", "0.001", "0.01", "0.1", "1", "10") for t in ticks), ticks
        assert "log_y=1" in page.url, page.url
        # The link restores both.
        page.goto(page.url)
        wait_for(page, "the restored view", lambda: page.get_attribute(figure, "data-y-scale") == "log")
        assert page.get_attribute(figure, "data-smoothing") == "0.99"
        assert page.is_checked("#log-y") and page.input_value("#smoothing") == "0.99"

    @scenario("the dashboard reads without a token while writes need one")
    def _():
        try:
            api("log", ["demo", "baseline", {"loss": 0.1}], token=None)
        except urllib.error.HTTPError as e:
            assert e.code == 401, e.code
        else:
            raise AssertionError("a write without the token was accepted")
        # Every page above read without a token; a read here too.
        assert "demo" in api("get_all_projects", [], token=None)

    # A spike and a dip that no even spreading of the 100,000 points keeps.
    SPIKE, DIP = 61803, 38197

    def long_value(s):
        return 1000.0 if s == SPIKE else -1000.0 if s == DIP else (s % 977) / 977

    @scenario("1,000 runs and a 100,000-point line stay responsive, and its spike and dip are drawn")
    def _():
        api("bulk_log", [[{"project": "big", "run": f"run-{i:04}", "metrics": {"loss": 1.0}, "step": 0} for i in range(1000)]])
        for batch in range(100):
            steps = range(batch * 1000, (batch + 1) * 1000)
            api("bulk_log", [[{"project": "big", "run": "long", "step": s, "metrics": {"loss": long_value(s)}} for s in steps]])
        started = time.monotonic()
        page.goto(URL + "/?project=big&run=long")
        wait_for(page, "the long line", lambda: vertices(page, "loss", "long") > 0, timeout=60)
        shown = time.monotonic() - started
        count = int(page.get_attribute('figure.chart[data-metric="loss"] polyline[data-run="long"]', "data-count"))
        width = page.evaluate("document.querySelector('figure.chart[data-metric=\"loss\"] svg').viewBox.baseVal.width")
        drawn = vertices(page, "loss", "long")
        assert drawn <= 4 * width < count, (drawn, width, count)
        # Nothing is hidden: the y range reaches the spike and the dip, and the line is drawn
        # through both (its highest and lowest vertices sit on the plot's top and bottom).
        figure = 'figure.chart[data-metric="loss"]'
        y_min = float(page.get_attribute(figure, "data-y-min"))
        y_max = float(page.get_attribute(figure, "data-y-max"))
        assert (y_min, y_max) == (-1000.0, 1000.0), (y_min, y_max)
        ys = page.evaluate(
            "sel => Array.from(document.querySelector(sel).points).map(p => p.y)",
            figure + ' polyline[data-run="long"]',
        )
        mid, spread = (max(ys) + min(ys)) / 2, max(ys) - min(ys)
        far = [y for y in ys if abs(y - mid) > spread / 4]
        assert len(far) == 2 and min(far) == min(ys) and max(far) == max(ys), far
        read = api("get_metric_envelope", ["big", "long", "loss", 2000])
        assert read["reduced"] and read["count"] == 100000, (read["count"], read["reduced"])
        assert {p["step"] for p in read["points"]} >= {SPIKE, DIP}
        assert page.eval_on_selector_all("#runs li", "ls => ls.length") == 1001
        page.fill("#run-filter", "run-09")
        shown_runs = page.eval_on_selector_all("#runs li:not([hidden])", "ls => ls.length")
        assert shown_runs == 100, shown_runs
        # Still answering: a script runs at once, and a live point lands on the long line.
        page.wait_for_selector("body[data-live=live]")
        api("log", ["big", "long", {"loss": 2.0}, 100000])
        line = 'figure.chart[data-metric="loss"] polyline[data-run="long"]'
        wait_for(page, "the live point", lambda: page.get_attribute(line, "data-count") == str(count + 1))
        # A whole batch arrives live too, every point of it.
        api("bulk_log", [[{"project": "big", "run": "long", "step": s, "metrics": {"loss": 0.5}} for s in range(100001, 101001)]])
        wait_for(page, "the live batch", lambda: page.get_attribute(line, "data-count") == str(count + 1001))
        print(f"       (100,000 points: drawn through {drawn} in {shown:.2f}s)", flush=True)

    @scenario("the page raised no script errors")
    def _():
        assert browser_errors == [], browser_errors

    browser.close()

finish()
