"""The tracking server's dashboard in a real headless Chromium (Debian's, driven by
Playwright for Python, pinned in requirements.txt). Run by interop/rust/tests/dashboard.rs:

    python dashboard_suite.py <url> <write-token> <screenshot.png>

The server has a write token: the suite logs with it, the page reads without one. Each
scenario checks what a person sees: charts, lines and their points, live growth without a
reload, deep links and their messages, zoom, axes, groups and search, the runs table, media,
system metrics and alerts, dark mode and a phone's width, and a large project (1,000 runs and
a 1,000,000-point line), timed. A screenshot of each view is saved beside <screenshot.png>."""

import io
import json
import math
import os
import socket
import struct
import wave
import zlib
import sys
import threading
import time
import urllib.error
import urllib.request

from harness import finish, scenario
from playwright.sync_api import sync_playwright

URL, TOKEN, SCREENSHOT = sys.argv[1], sys.argv[2], sys.argv[3]
SHOTS = os.path.dirname(os.path.abspath(SCREENSHOT))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FIGURES = {}  # what the README reports, printed at the end


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


def upload(name, data):
    """Uploads one file through the Gradio upload route; returns its server path."""
    boundary = "----dashboard-suite"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{URL}/gradio_api/upload",
        data=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}", "authorization": f"Bearer {TOKEN}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.load(r)[0]


def log_media(project, run, step, key, name, data, kind, caption):
    """Logs a media file as Trackio's client does: the file to bulk_upload_media, then a
    value naming it."""
    path = upload(name, data)
    file = {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}
    api("bulk_upload_media", [[{"project": project, "run": run, "step": step, "uploaded_file": file}]])
    value = {"_type": f"trackio.{kind}", "file_path": f"{project}/{run}/{step}/{name}", "caption": caption}
    api("bulk_log", [[{"project": project, "run": run, "step": step, "metrics": {key: value}}]])


def png(width, height, rgb):
    """A PNG of one colour."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def wav(seconds=1.0, rate=8000):
    """A WAV of a 440 Hz tone."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(seconds * rate))))
    return out.getvalue()


def drag(page, metric, x_from, x_to):
    """Drags across the chart of `metric` from x value `x_from` to `x_to`, as a mouse would."""
    figure = f'figure.chart[data-metric="{metric}"]'
    x0 = float(page.get_attribute(figure, "data-x-min"))
    x1 = float(page.get_attribute(figure, "data-x-max"))
    box = page.locator(figure + " svg").bounding_box()
    vb = page.evaluate("sel => document.querySelector(sel).viewBox.baseVal.width", figure + " svg")
    scale = box["width"] / vb

    def px(x):
        return box["x"] + (58 + (x - x0) / (x1 - x0) * (vb - 72)) * scale

    y = box["y"] + box["height"] / 2
    page.mouse.move(px(x_from), y)
    page.mouse.down()
    page.mouse.move((px(x_from) + px(x_to)) / 2, y, steps=4)
    page.mouse.move(px(x_to), y, steps=4)
    page.mouse.up()


def figure_range(page, metric):
    figure = f'figure.chart[data-metric="{metric}"]'
    return {k: float(page.get_attribute(figure, f"data-{k}")) for k in ("x-min", "x-max", "y-min", "y-max")}


# The contrast of every visible piece of text against the background behind it (WCAG 2.1).
CONTRAST = """() => {
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
        for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
        }
        return rgb(getComputedStyle(document.documentElement).backgroundColor || "rgb(255,255,255)");
    };
    const worst = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!n.textContent.trim() || !el || !el.getClientRects().length || el.closest("[hidden]")) continue;
        const style = getComputedStyle(el);
        if (style.visibility === "hidden") continue;
        const fg = rgb(el instanceof SVGElement ? style.fill : style.color);
        if (fg.length < 3) continue;
        const a = lum(fg), b = lum(background(el));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5) worst.push([n.textContent.trim().slice(0, 30), ratio.toFixed(2)]);
    }
    return worst;
}"""


log_steps("demo", "baseline", range(50))
log_steps("demo", "wider", range(50), scale=0.5)
log_steps("other", "solo", range(5))

browser_errors = []

with sync_playwright() as pw:
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium"
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--js-flags=--expose-gc"])
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
        # (The project list is polled for new projects; the lines are never read again.)
        reads = [u for u in calls if "/call/get_" in u and "/call/get_all_projects" not in u]
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

    @scenario("charts group by the prefix before '/', fold, and a search narrows them by name")
    def _():
        api("bulk_log", [[{"project": "grouped", "run": "g1", "step": s,
                           "metrics": {"train/loss": 1 / (s + 1), "train/acc": s / 10, "val/loss": 2 / (s + 1), "lr": 0.1}} for s in range(10)]])
        page.goto(URL + "/?project=grouped&run=g1")
        wait_for(page, "four charts", lambda: page.eval_on_selector_all("figure.chart polyline", "ls => ls.length") == 4)
        groups = page.eval_on_selector_all("section.group:not([hidden])", "gs => gs.map(g => [g.dataset.group, Array.from(g.querySelectorAll('figure.chart')).map(f => f.dataset.metric)])")
        assert groups == [["charts", ["lr"]], ["train", ["train/acc", "train/loss"]], ["val", ["val/loss"]]], groups
        fold = 'section.group[data-group="train"] button.fold'
        assert page.get_attribute(fold, "aria-expanded") == "true"
        page.focus(fold)
        page.keyboard.press("Enter")
        assert page.get_attribute(fold, "aria-expanded") == "false"
        assert not page.is_visible('figure.chart[data-metric="train/loss"]')
        page.click(fold)
        assert page.is_visible('figure.chart[data-metric="train/loss"]')
        page.fill("#chart-search", "LOSS")
        shown = page.eval_on_selector_all("figure.chart:not([hidden])", "fs => fs.map(f => f.dataset.metric)")
        assert sorted(shown) == ["train/loss", "val/loss"], shown
        assert not page.is_visible('section.group[data-group="charts"]')
        assert "search=LOSS" in page.url, page.url
        page.goto(page.url)
        wait_for(page, "the restored search", lambda: page.eval_on_selector_all("figure.chart:not([hidden]) polyline", "ls => ls.length") == 2)
        assert page.input_value("#chart-search") == "LOSS"
        page.fill("#chart-search", "")

    @scenario("the cursor of one chart reads out on every chart at the same step")
    def _():
        box = page.locator('figure.chart[data-metric="train/loss"] svg').bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
        here = page.get_attribute('figure.chart[data-metric="train/loss"]', "data-cursor")
        assert here is not None
        for other in ["val/loss", "lr", "train/acc"]:
            figure = f'figure.chart[data-metric="{other}"]'
            assert page.get_attribute(figure, "data-cursor") == here, (other, here)
            text = page.inner_text(figure + " .readout")
            assert text.startswith(f"step {here}") and "g1: " in text, text
        page.mouse.move(0, 0)
        wait_for(page, "the cursor gone", lambda: page.get_attribute('figure.chart[data-metric="val/loss"]', "data-cursor") is None)

    @scenario("x by wall time and by time since the run began, chosen by keyboard and kept in the link")
    def _():
        start = 1_700_000_000
        stamp = lambda s: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + 60 * s)) + ".000000+00:00"
        api("bulk_log", [[{"project": "timed", "run": "t1", "step": s, "timestamp": stamp(s), "metrics": {"loss": 1 / (s + 1)}} for s in range(10)]])
        page.goto(URL + "/?project=timed&run=t1")
        wait_for(page, "the line", lambda: vertices(page, "loss", "t1") == 10)
        page.focus("#x-axis")
        page.select_option("#x-axis", "relative")
        figure = 'figure.chart[data-metric="loss"]'
        wait_for(page, "a relative axis", lambda: page.get_attribute(figure, "data-x-kind") == "relative")
        r = figure_range(page, "loss")
        assert (r["x-min"], r["x-max"]) == (0, 540), r
        ticks = page.eval_on_selector_all(figure + " text.x-tick", "ts => ts.map(t => t.textContent)")
        assert "0s" in ticks and any(t.endswith("m") for t in ticks), ticks
        assert page.text_content(figure + " text.title") == "time since start"
        assert "x=relative" in page.url
        page.select_option("#x-axis", "time")
        wait_for(page, "a wall-time axis", lambda: page.get_attribute(figure, "data-x-kind") == "time")
        r = figure_range(page, "loss")
        assert (r["x-min"], r["x-max"]) == (start * 1000, (start + 540) * 1000), r
        ticks = page.eval_on_selector_all(figure + " text.x-tick", "ts => ts.map(t => t.textContent)")
        assert ticks and all(len(t) == 8 and t[2] == ":" and t[5] == ":" for t in ticks), ticks
        # Zooming works in time too: drag over the last five minutes; only their points are drawn.
        drag(page, "loss", (start + 250) * 1000, (start + 545) * 1000)
        wait_for(page, "the time zoom", lambda: page.get_attribute(figure, "data-zoomed") == "true")
        wait_for(page, "its reads", lambda: page.get_attribute("body", "data-detail") is not None)
        shown = int(page.get_attribute(figure + ' polyline[data-run="t1"]', "data-shown"))
        assert shown == 5, shown
        page.goto(page.url)
        wait_for(page, "the restored time zoom", lambda: page.get_attribute(figure, "data-zoomed") == "true")
        assert page.input_value("#x-axis") == "time"
        page.dblclick(figure + " svg")
        wait_for(page, "the reset", lambda: page.get_attribute(figure, "data-zoomed") == "false")
        page.select_option("#x-axis", "step")

    @scenario("the runs table: config and latest values as columns, sortable, filterable, picks runs in their colour")
    def _():
        for i, (lr, loss) in enumerate([(0.1, 0.9), (0.01, 0.3), (0.001, 0.6)]):
            api("bulk_log", [[{"project": "table", "run": f"lr-{lr}", "step": s, "config": {"lr": lr, "optimizer": "adam" if i else "sgd"},
                               "metrics": {"loss": loss + (3 - s) * 0.1, "acc": 1 - loss}} for s in range(4)]])
        page.goto(URL + "/?project=table&run=lr-0.1&tab=runs")
        page.wait_for_selector("#runs-table tbody tr")
        headers = page.eval_on_selector_all("#runs-table thead tr:last-child th", "ts => ts.map(t => t.dataset.column || t.textContent)")
        assert headers[:5] == ["draw", "name", "state", "created_at", "last_step"], headers
        assert {"config.lr", "config.optimizer", "summary.loss", "summary.acc"} <= set(headers), headers
        names = lambda: page.eval_on_selector_all("#runs-table tbody tr", "rs => rs.map(r => r.dataset.run)")
        page.click('#runs-table th[data-column="summary.loss"] button')
        assert names() == ["lr-0.01", "lr-0.001", "lr-0.1"], names()
        assert page.get_attribute('#runs-table th[data-column="summary.loss"]', "aria-sort") == "ascending"
        page.click('#runs-table th[data-column="summary.loss"] button')
        assert names() == ["lr-0.1", "lr-0.001", "lr-0.01"], names()
        cells = page.eval_on_selector_all('#runs-table tbody tr[data-run="lr-0.1"] td', "ts => ts.map(t => t.textContent)")
        assert "0.9" in cells and "sgd" in cells and "3" in cells, cells
        page.fill("#table-filter", "adam")
        assert sorted(names()) == ["lr-0.001", "lr-0.01"], names()
        # Ticking a row draws the run, in the colour its swatch shows everywhere.
        page.check('#runs-table tr[data-run="lr-0.01"] input')
        assert page.is_checked('#runs li[data-run="lr-0.01"] input')
        assert "run=lr-0.01" in page.url, page.url
        # (The table is read again every few seconds; its swatch is read once it is drawn.)
        table_color = wait_for(page, "the swatch", lambda: page.eval_on_selector('#runs-table tr[data-run="lr-0.01"] .swatch', "s => getComputedStyle(s).backgroundColor"))
        page.fill("#table-filter", "")
        page.screenshot(path=os.path.join(SHOTS, "dashboard-runs.png"), full_page=True)
        page.click("#tab-charts")
        wait_for(page, "its line", lambda: vertices(page, "loss", "lr-0.01") == 4)
        # (A chart is drawn anew as values come; its line's colour is read from its attribute.)
        stroke = page.get_attribute('figure.chart[data-metric="loss"] polyline[data-run="lr-0.01"]', "stroke")
        line_color = "rgb({}, {}, {})".format(*(int(stroke[i:i + 2], 16) for i in (1, 3, 5)))
        legend_color = page.eval_on_selector('figure.chart[data-metric="loss"] .legend li[data-run="lr-0.01"] .swatch', "s => s.style.backgroundColor")
        aside_color = page.eval_on_selector('#runs li[data-run="lr-0.01"] .swatch', "s => getComputedStyle(s).backgroundColor")
        assert table_color == line_color == legend_color == aside_color, (table_color, line_color, legend_color, aside_color)
        # The other run keeps its colour when this one is cleared and drawn again.
        first = page.eval_on_selector('#runs li[data-run="lr-0.1"] .swatch', "s => getComputedStyle(s).backgroundColor")
        page.uncheck('#runs li[data-run="lr-0.01"] input')
        page.check('#runs li[data-run="lr-0.01"] input')
        again = page.eval_on_selector('#runs li[data-run="lr-0.01"] .swatch', "s => getComputedStyle(s).backgroundColor")
        assert again == aside_color and first != again, (first, again)
        # "clear" draws nothing; "draw listed" draws every run the side list shows.
        page.click("#clear-runs")
        wait_for(page, "no lines", lambda: page.eval_on_selector_all("figure.chart polyline", "ls => ls.length") == 0)
        assert page.inner_text("#run-count") == "0 of 3 drawn"
        page.click("#select-shown")
        wait_for(page, "every line", lambda: page.eval_on_selector_all('figure.chart[data-metric="loss"] polyline', "ls => ls.length") == 3)

    @scenario("media: images by step with a slider, a table rendered as one, audio that plays and seeks, video that plays, live")
    def _():
        colors = [(220, 40, 40), (40, 160, 60), (40, 80, 220)]
        for step, rgb in enumerate(colors):
            log_media("media", "m1", step, "samples", f"sample-{step}.png", png(64, 32, rgb), "image", f"epoch {step}")
        log_media("media", "m1", 0, "voice", "tone.wav", wav(), "audio", "a tone")
        table = {"_type": "trackio.table", "_value": [{"text": "a cat", "score": 0.9}, {"text": "a dog", "score": 0.25}]}
        api("bulk_log", [[{"project": "media", "run": "m1", "step": 5, "metrics": {"predictions": table, "loss": 0.5}}]])
        page.goto(URL + "/?project=media&run=m1&tab=media")
        card = 'section.media-key[data-key="samples"] figure.media-card[data-run="m1"]'
        page.wait_for_selector(card + " img")
        assert page.get_attribute(card, "data-step") == "2", "the latest step first"
        wait_for(page, "the image", lambda: page.eval_on_selector(card + " img", "i => i.complete && i.naturalWidth") == 64)
        page.focus(card + " input.step-slider")
        page.keyboard.press("Home")
        assert page.get_attribute(card, "data-step") == "0"
        assert "epoch 0" in page.inner_text(card + " figcaption")
        src = page.get_attribute(card + " img", "src")
        with urllib.request.urlopen(URL + src) as r:
            assert r.read() == png(64, 32, colors[0]) and r.headers["content-type"] == "image/png"
        rows = page.eval_on_selector_all('section.media-key[data-key="predictions"] table tbody tr', "rs => rs.map(r => Array.from(r.cells).map(c => c.textContent))")
        assert rows == [["a cat", "0.9"], ["a dog", "0.25"]], rows
        audio = 'section.media-key[data-key="voice"] audio'
        page.wait_for_selector(audio)
        wait_for(page, "the audio's length", lambda: page.eval_on_selector(audio, "a => a.readyState >= 1 && a.duration") or False, timeout=20)
        duration = page.eval_on_selector(audio, "a => a.duration")
        assert abs(duration - 1.0) < 0.05, duration
        # Seeking asks for a byte range, which the server answers with 206.
        seeked = page.evaluate("""sel => new Promise((done) => { const a = document.querySelector(sel);
            a.muted = true; a.addEventListener('seeked', () => done(a.currentTime), { once: true }); a.currentTime = 0.5; })""", audio)
        assert abs(seeked - 0.5) < 0.05, seeked
        request = urllib.request.Request(URL + page.get_attribute(audio, "src"), headers={"range": "bytes=100-199"})
        with urllib.request.urlopen(request) as r:
            assert r.status == 206 and len(r.read()) == 100
        # A video, recorded by the browser itself (a canvas through MediaRecorder, as WebM),
        # logged like any other, then played by the panel's <video>.
        recorded = page.evaluate("""() => new Promise((done, fail) => {
            const canvas = Object.assign(document.createElement("canvas"), { width: 64, height: 48 });
            const ctx = canvas.getContext("2d");
            const recorder = new MediaRecorder(canvas.captureStream(25), { mimeType: "video/webm" });
            const parts = [];
            recorder.ondataavailable = (e) => parts.push(e.data);
            recorder.onerror = fail;
            recorder.onstop = async () => {
                const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
                let text = ""; for (const b of bytes) text += String.fromCharCode(b);
                done(btoa(text));
            };
            let frame = 0;
            const paint = setInterval(() => { ctx.fillStyle = `hsl(${frame++ * 20}, 80%, 50%)`; ctx.fillRect(0, 0, 64, 48); }, 40);
            recorder.start(100);
            setTimeout(() => { clearInterval(paint); recorder.stop(); }, 800);
        })""")
        import base64
        log_media("media", "m1", 1, "clip", "clip.webm", base64.b64decode(recorded), "video", "a clip")
        video = 'section.media-key[data-key="clip"] video'
        page.wait_for_selector(video, timeout=20000)
        wait_for(page, "the video's frames", lambda: page.eval_on_selector(video, "v => v.readyState >= 2 && v.videoWidth") == 64, timeout=20)
        played = page.evaluate("""sel => { const v = document.querySelector(sel); v.muted = true;
            return v.play().then(() => new Promise((done) => setTimeout(() => done(v.currentTime), 300))); }""", video)
        assert played > 0, played
        page.screenshot(path=os.path.join(SHOTS, "dashboard-media.png"), full_page=True)
        # A new step's image appears while the panel is open, and the slider grows.
        page.focus(card + " input.step-slider")
        page.keyboard.press("End")
        log_media("media", "m1", 3, "samples", "sample-3.png", png(64, 32, (200, 200, 0)), "image", "epoch 3")
        wait_for(page, "the new image", lambda: page.get_attribute(card, "data-step") == "3", timeout=20)
        assert page.get_attribute(card + " input.step-slider", "max") == "3"

    @scenario("system metrics as their own charts by time, growing while the panel is open")
    def _():
        start = time.time() - 100
        stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000000+00:00"
        api("bulk_log", [[{"project": "sys", "run": "s1", "step": 0, "metrics": {"loss": 1.0}}]])
        api("bulk_log_system", [[{"project": "sys", "run": "s1", "timestamp": stamp(start + 10 * i),
                                   "metrics": {"cpu/percent": 10.0 + i, "gpu/0/utilization": 50.0 + (40 if i == 7 else 0), "gpu/0/memory": 1e9}} for i in range(10)]])
        page.goto(URL + "/?project=sys&run=s1&tab=system")
        page.wait_for_selector('#system-charts figure.chart[data-metric="gpu/0/utilization"] polyline')
        groups = page.eval_on_selector_all("#system-charts section.group", "gs => gs.map(g => g.dataset.group)")
        assert groups == ["cpu", "gpu"], groups
        figure = '#system-charts figure.chart[data-metric="gpu/0/utilization"]'
        assert page.get_attribute(figure, "data-x-kind") == "relative"
        assert float(page.get_attribute(figure, "data-y-max")) == 90.0, "the one high reading is drawn"
        line = figure + ' polyline[data-run="s1"]'
        assert page.get_attribute(line, "data-count") == "10"
        page.screenshot(path=os.path.join(SHOTS, "dashboard-system.png"), full_page=True)
        api("bulk_log_system", [[{"project": "sys", "run": "s1", "timestamp": stamp(start + 100), "metrics": {"gpu/0/utilization": 60.0}}]])
        wait_for(page, "the new reading", lambda: page.get_attribute(line, "data-count") == "11", timeout=20)

    @scenario("alerts listed with level, time and run, narrowed by level, new ones appearing")
    def _():
        api("bulk_alert", [[
            {"project": "sys", "run": "s1", "title": "loss is NaN", "text": "at step 3", "level": "error", "step": 3},
            {"project": "sys", "run": "s1", "title": "slow epoch", "text": None, "level": "warn", "step": 2},
            {"project": "sys", "run": "s1", "title": "started", "text": "hello", "level": "info", "step": 0},
        ]])
        page.goto(URL + "/?project=sys&run=s1&tab=alerts")
        page.wait_for_selector("#alerts-panel-body tbody tr")
        rows = page.eval_on_selector_all("#alerts-panel-body tbody tr", "rs => rs.map(r => [r.dataset.level, r.cells[2].textContent, r.cells[3].textContent])")
        assert sorted(rows) == sorted([["error", "s1", "loss is NaN"], ["warn", "s1", "slow epoch"], ["info", "s1", "started"]]), rows
        time_text = page.eval_on_selector("#alerts-panel-body tbody tr td:nth-child(2)", "t => t.textContent")
        assert len(time_text) == 19 and time_text[4] == "-", time_text
        page.select_option("#alert-level", "error")
        wait_for(page, "only errors", lambda: page.eval_on_selector_all("#alerts-panel-body tbody tr", "rs => rs.map(r => r.dataset.level)") == ["error"])
        page.screenshot(path=os.path.join(SHOTS, "dashboard-alerts.png"), full_page=True)
        api("bulk_alert", [[{"project": "sys", "run": "s1", "title": "diverged", "text": "loss 1e9", "level": "error", "step": 9}]])
        wait_for(page, "the new alert", lambda: page.eval_on_selector_all("#alerts-panel-body tbody tr", "rs => rs.length") == 2, timeout=20)
        page.select_option("#alert-level", "")

    @scenario("a project created while the page is open appears without a reload")
    def _():
        page.goto(URL + "/?project=demo")
        page.wait_for_selector("body[data-ready=true]")
        page.evaluate("window.__same_page = true")
        api("log", ["brand-new", "first", {"loss": 1.0}, 0])
        wait_for(page, "the new project", lambda: "brand-new" in page.eval_on_selector_all("#project option", "os => os.map(o => o.value)"), timeout=20)
        page.select_option("#project", "brand-new")
        wait_for(page, "its line", lambda: vertices(page, "loss", "first") == 1)
        assert page.evaluate("window.__same_page") is True

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

    def assert_spike_and_dip(page):
        """The y range reaches the spike and the dip, and the line is drawn through both (its
        highest and lowest vertices sit on the plot's top and bottom)."""
        figure = 'figure.chart[data-metric="loss"]'
        r = figure_range(page, "loss")
        assert (r["y-min"], r["y-max"]) == (-1000.0, 1000.0), r
        ys = page.evaluate(
            "sel => Array.from(document.querySelector(sel).points).map(p => p.y)",
            figure + ' polyline[data-run="long"]',
        )
        mid, spread = (max(ys) + min(ys)) / 2, max(ys) - min(ys)
        far = [y for y in ys if abs(y - mid) > spread / 4]
        assert len(far) == 2 and min(far) == min(ys) and max(far) == max(ys), far

    @scenario("1,000 runs and a 100,000-point line: its spike and dip are drawn, and the list stays bounded")
    def _():
        api("bulk_log", [[{"project": "big", "run": f"run-{i:04}", "metrics": {"loss": 1.0}, "step": 0} for i in range(1000)]])
        for batch in range(100):
            steps = range(batch * 1000, (batch + 1) * 1000)
            api("bulk_log", [[{"project": "big", "run": "long", "step": s, "metrics": {"loss": long_value(s)}} for s in steps]])
        page.goto(URL + "/?project=big&run=long")
        wait_for(page, "the long line", lambda: vertices(page, "loss", "long") > 0, timeout=60)
        count = int(page.get_attribute('figure.chart[data-metric="loss"] polyline[data-run="long"]', "data-count"))
        width = page.evaluate("document.querySelector('figure.chart[data-metric=\"loss\"] svg').viewBox.baseVal.width")
        drawn = vertices(page, "loss", "long")
        assert drawn <= 4 * width < count, (drawn, width, count)
        assert_spike_and_dip(page)
        read = api("get_metric_envelope", ["big", "long", "loss", 2000])
        assert read["reduced"] and read["count"] == 100000, (read["count"], read["reduced"])
        assert {p["step"] for p in read["points"]} >= {SPIKE, DIP}
        # The side list holds at most 300 runs and says how many more match; a filter narrows.
        assert page.eval_on_selector_all("#runs li", "ls => ls.length") == 300
        assert page.get_attribute("#runs", "data-matching") == "1001"
        assert "701 more" in page.inner_text("#runs-more")
        page.fill("#run-filter", "run-09")
        assert page.eval_on_selector_all("#runs li", "ls => ls.length") == 100
        assert page.is_hidden("#runs-more")
        # Still answering: a live point lands on the long line, then a whole batch.
        page.wait_for_selector("body[data-live=live]")
        api("log", ["big", "long", {"loss": 2.0}, 100000])
        line = 'figure.chart[data-metric="loss"] polyline[data-run="long"]'
        wait_for(page, "the live point", lambda: page.get_attribute(line, "data-count") == str(count + 1))
        api("bulk_log", [[{"project": "big", "run": "long", "step": s, "metrics": {"loss": 0.5}} for s in range(100001, 101001)]])
        wait_for(page, "the live batch", lambda: page.get_attribute(line, "data-count") == str(count + 1001))
        print(f"       (100,000 points: drawn through {drawn})", flush=True)

    @scenario("zoom: drag in twice, keys out, double-click back; the spike and dip are drawn at every level and read again finer")
    def _():
        figure = 'figure.chart[data-metric="loss"]'
        line = figure + ' polyline[data-run="long"]'
        zoomed = lambda: page.get_attribute("body", "data-detail")
        # Level 2: both planted points inside, read again for the range.
        drag(page, "loss", 30000, 70000)
        wait_for(page, "the first zoom's read", lambda: zoomed() is not None)
        r = figure_range(page, "loss")
        assert 29000 < r["x-min"] < 31000 and 69000 < r["x-max"] < 71000, r
        assert "x_min=" in page.url and "x_max=" in page.url, page.url
        assert_spike_and_dip(page)
        level2 = int(page.get_attribute(line, "data-shown"))
        # Level 3: 2,000 steps around the spike; level 4: 200 of them, every point drawn.
        for level, half in [(3, 1000), (4, 100)]:
            before = zoomed()
            drag(page, "loss", SPIKE - half, SPIKE + half)
            wait_for(page, f"zoom level {level}'s read", lambda: zoomed() not in (None, before))
            r = figure_range(page, "loss")
            assert r["y-max"] == 1000.0 and r["y-min"] >= 0, (level, r)
            assert SPIKE - 1.2 * half < r["x-min"] < SPIKE < r["x-max"] < SPIKE + 1.2 * half, (level, r)
        shown = int(page.get_attribute(line, "data-shown"))
        assert 150 <= shown <= 250 and vertices(page, "loss", "long") >= shown, (shown, vertices(page, "loss", "long"))
        assert shown < level2
        # A deep link to a range around the dip draws the dip.
        page.goto(URL + f"/?project=big&run=long&x_min={DIP - 50}&x_max={DIP + 50}")
        wait_for(page, "the linked zoom's read", lambda: zoomed() is not None, timeout=30)
        r = figure_range(page, "loss")
        assert (r["x-min"], r["x-max"]) == (DIP - 50, DIP + 50) and r["y-min"] == -1000.0 and r["y-max"] <= 1, r
        assert int(page.get_attribute(line, "data-shown")) == 101
        # Keys on a focused chart: - zooms out to twice the range, 0 shows everything.
        page.focus(figure + " svg")
        page.keyboard.press("-")
        wait_for(page, "the zoom out", lambda: figure_range(page, "loss")["x-max"] == DIP + 100)
        page.keyboard.press("0")
        wait_for(page, "everything", lambda: page.get_attribute(figure, "data-zoomed") == "false")
        assert "x_min" not in page.url
        assert_spike_and_dip(page)
        # Double-click resets a dragged zoom too, and the button does as well.
        drag(page, "loss", 10000, 20000)
        wait_for(page, "a zoom", lambda: page.get_attribute(figure, "data-zoomed") == "true")
        assert page.is_visible("#reset-zoom")
        page.dblclick(figure + " svg")
        wait_for(page, "the reset", lambda: page.get_attribute(figure, "data-zoomed") == "false")
        assert page.is_hidden("#reset-zoom")
        drag(page, "loss", 10000, 20000)
        wait_for(page, "another zoom", lambda: page.get_attribute(figure, "data-zoomed") == "true")
        page.focus("#reset-zoom")
        page.keyboard.press("Enter")
        wait_for(page, "the button's reset", lambda: page.get_attribute(figure, "data-zoomed") == "false")
        # The tabs by keyboard: arrows move between them, and the link follows.
        page.focus("#tab-charts")
        page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.id") == "tab-runs"
        assert page.get_attribute("#tab-runs", "aria-selected") == "true" and page.is_visible("#panel-runs")
        assert page.is_hidden("#panel-charts") and "tab=runs" in page.url
        page.keyboard.press("ArrowLeft")
        assert page.is_visible("#panel-charts") and "tab=" not in page.url

    @scenario("1,000 runs and a 1,000,000-point line open with charts drawn in under 1 s; hover and zoom stay under 50 ms a frame")
    def _():
        for batch in range(100):
            api("bulk_log", [[{"project": "big", "run": "million", "step": s, "metrics": {"loss": (s % 977) / 977 + (5.0 if s == 777_777 else 0)}}
                              for s in range(batch * 10000, (batch + 1) * 10000)]])
        opens = []
        for _ in range(3):
            page.goto(URL + "/?project=big&run=million")
            wait_for(page, "the million line", lambda: vertices(page, "loss", "million") > 0, timeout=60)
            opens.append(page.evaluate("performance.getEntriesByName('charts-drawn')[0].startTime") / 1000)
        opened = sorted(opens)[1]
        r = figure_range(page, "loss")
        assert r["y-max"] == 5.0 + 777_777 % 977 / 977, r
        # Hover: a sweep of the mouse over the chart, each move timed in the page; zoom: a drag
        # and a reset. The page counts long tasks (over 50 ms) while this happens.
        page.evaluate("window.__long = []; new PerformanceObserver((l) => window.__long.push(...l.getEntries().map(e => e.duration))).observe({type: 'longtask'})")
        box = page.locator('figure.chart[data-metric="loss"] svg').bounding_box()
        hover_ms = []
        for i in range(40):
            x = box["x"] + box["width"] * (0.1 + 0.02 * i)
            hover_ms.append(page.evaluate("""([x, y]) => {
                const svg = document.querySelector('figure.chart[data-metric="loss"] svg');
                const t = performance.now();
                svg.dispatchEvent(new PointerEvent('pointermove', {clientX: x, clientY: y, bubbles: true}));
                document.body.getBoundingClientRect();
                return performance.now() - t; }""", [x, box["y"] + box["height"] / 2]))
        t = time.monotonic()
        drag(page, "loss", 400_000, 800_000)
        wait_for(page, "the zoom's read", lambda: page.get_attribute("body", "data-detail") is not None, timeout=30)
        zoom_s = time.monotonic() - t
        assert figure_range(page, "loss")["y-max"] == 5.0 + 777_777 % 977 / 977
        draw_ms = page.evaluate("""() => { const t = performance.now();
            document.querySelector('#log-y').click(); document.querySelector('#log-y').click();
            return new Promise(r => requestAnimationFrame(() => r(performance.now() - t))); }""")
        page.dblclick('figure.chart[data-metric="loss"] svg')
        wait_for(page, "the reset", lambda: page.get_attribute('figure.chart[data-metric="loss"]', "data-zoomed") == "false")
        page.wait_for_timeout(300)
        long_tasks = page.evaluate("window.__long")
        nodes = page.evaluate("document.getElementsByTagName('*').length")
        # The heap after a collection: what the page holds, not garbage not yet collected.
        heap = page.evaluate("(window.gc && gc(), performance.memory ? performance.memory.usedJSHeapSize : 0)") / 2**20
        hover_ms.sort()
        FIGURES["open"] = f"opens with its chart drawn in {opened:.2f} s (median of 3: {', '.join(f'{o:.2f}' for o in opens)})"
        FIGURES["hover"] = f"hover: median {hover_ms[20]:.1f} ms, max {hover_ms[-1]:.1f} ms per move"
        FIGURES["zoom"] = f"zoom: drag to the finer read drawn in {zoom_s:.2f} s; a redraw {draw_ms:.1f} ms; long tasks (> 50 ms): {len(long_tasks)}"
        FIGURES["size"] = f"page: {nodes} elements, {heap:.0f} MiB of JS heap"
        print("       (" + "; ".join(FIGURES.values()) + ")", flush=True)
        assert opened < 1.0, opens
        assert hover_ms[-1] < 50, hover_ms
        assert long_tasks == [], long_tasks
        assert nodes < 5000, nodes
        assert heap < 100, heap

    @scenario("dark mode follows the OS; text passes WCAG AA contrast in both; controls show focus")
    def _():
        page.goto(URL + "/?project=demo&run=baseline&run=wider")
        wait_for(page, "the lines", lambda: vertices(page, "loss", "wider") == 50)
        low = page.evaluate(CONTRAST)
        assert low == [], f"text below 4.5:1 in light mode: {low}"
        # Focus is visible: tabbing reaches the controls and each shows an outline.
        page.focus("#project")
        for _ in range(4):
            page.keyboard.press("Tab")
            outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement); return [document.activeElement.id || document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }")
            assert outline[1] != "none" and outline[2] != "0px", outline
        dark = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme="dark")
        dark.on("pageerror", lambda e: browser_errors.append(str(e)))
        dark.goto(URL + "/?project=demo&run=baseline&run=wider&tab=charts")
        wait_for(dark, "the dark page's lines", lambda: vertices(dark, "loss", "wider") == 50)
        background = dark.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        assert background == "rgb(20, 23, 28)", background
        low = dark.evaluate(CONTRAST)
        assert low == [], f"text below 4.5:1 in dark mode: {low}"
        dark.screenshot(path=os.path.join(SHOTS, "dashboard-dark.png"), full_page=True)
        dark.close()

    @scenario("at a phone's width the page fits, with the controls above the charts")
    def _():
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        phone.on("pageerror", lambda e: browser_errors.append(str(e)))
        phone.goto(URL + "/?project=grouped&run=g1")
        wait_for(phone, "its charts", lambda: phone.eval_on_selector_all("figure.chart polyline", "ls => ls.length") == 4)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the screen"
        aside = phone.locator("aside").bounding_box()
        chart = phone.locator("figure.chart").first.bounding_box()
        assert aside["y"] + aside["height"] <= chart["y"] and chart["width"] <= 390, (aside, chart)
        phone.screenshot(path=os.path.join(SHOTS, "dashboard-phone.png"), full_page=True)
        phone.close()

    @scenario("the page raised no script errors")
    def _():
        assert browser_errors == [], browser_errors

    browser.close()

for name, text in FIGURES.items():
    print(f"figure {name}: {text}")
finish()
