"""The official Python MCP SDK (`mcp`, pinned in requirements.txt) against the MCP server of
gradio-compat. Run by interop/rust/tests/mcp.rs: python mcp_suite.py <base url> <write token>.

The server is the tracking server's registry plus `count` (a stream with progress), `slow`
(waits until cancelled) and `slow_cancelled` (how many `slow` calls were cancelled)."""

import base64
import hashlib
import json
import sys
import time
import urllib.request

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from harness import finish, scenario

BASE, TOKEN = sys.argv[1], sys.argv[2]
MCP = f"{BASE}/gradio_api/mcp"
FIXTURE = b"a file passed to an MCP tool by URL\n"


def run(fn):
    """Runs one async scenario body."""
    return anyio.run(fn)


def client(token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120))
    return Client(streamable_http_client(MCP, http_client=http))


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", None) == "text")


@scenario("lists the tools with Gradio's input schemas")
def _():
    async def body():
        async with client() as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            for name in ["log", "bulk_log", "follow_metric", "export_metrics", "upload_artifact", "count", "slow"]:
                assert name in tools, (name, sorted(tools))
            schema = tools["upload_artifact"].input_schema
            assert schema["properties"]["file"]["format"] == "Gradio File Input - a http or https url to a file", schema
            assert "file" in schema["required"], schema
            assert schema["type"] == "object"

    run(body)


@scenario("GET /mcp/schema lists the same tools, filtered by ?tools=")
def _():
    with urllib.request.urlopen(f"{MCP}/schema?tools=log,count") as r:
        tools = json.load(r)
    assert [t["name"] for t in tools] == ["log", "count"], tools
    assert tools[0]["meta"] == {"file_data_present": False, "mcp_type": "tool", "endpoint_name": "/log"}, tools[0]


@scenario("calls a tool and reads the value back")
def _():
    async def body():
        async with client() as c:
            logged = await c.call_tool("log", {"project": "py", "run": "r1", "metrics": {"acc": 0.75}})
            assert not logged.is_error, logged
            values = await c.call_tool("get_metric_values", {"project": "py", "run": "r1", "metric_name": "acc"})
            assert not values.is_error, values
            assert "0.75" in text_of(values), values

    run(body)


@scenario("a streaming tool sends progress notifications, then its last item")
def _():
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    async def body():
        async with client() as c:
            result = await c.call_tool("count", {"n": 3, "delay_ms": 30}, progress_callback=on_progress)
            assert not result.is_error, result
            assert text_of(result) == "item 2", result

    run(body)
    messages = [m for _, _, m in seen]
    for expected in ["Progress counting: Step 1 of 3", "item 0", "item 1", "item 2"]:
        assert expected in messages, (expected, seen)
    steps = [p for p, _, _ in seen]
    assert steps == sorted(steps) and len(set(steps)) == len(steps), seen


@scenario("passes a file by URL: a loopback file, and this server's own upload")
def _():
    async def body():
        async with client() as c:
            result = await c.call_tool("upload_artifact", {"project": "py", "file": f"{BASE}/fixture.txt"})
            assert not result.is_error, result
            assert hashlib.sha256(FIXTURE).hexdigest() in text_of(result), result
            # Upload first, then pass the URL the server gives the file: no download needed.
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
                r = await http.post(f"{BASE}/gradio_api/upload", files={"files": ("own.txt", b"own bytes")})
                r.raise_for_status()
                path = r.json()[0]
            own = f"{BASE}/gradio_api/file={path}"
            result = await c.call_tool("upload_artifact", {"project": "py", "file": own})
            assert not result.is_error, result
            assert hashlib.sha256(b"own bytes").hexdigest() in text_of(result), result

    run(body)


@scenario("passes a file by data: URI")
def _():
    payload = b"\x89PNG not really, but bytes"
    uri = "data:image/png;base64," + base64.b64encode(payload).decode()

    async def body():
        async with client() as c:
            result = await c.call_tool("upload_artifact", {"project": "py", "file": uri})
            assert not result.is_error, result
            assert hashlib.sha256(payload).hexdigest() in text_of(result), result
            bad = await c.call_tool("upload_artifact", {"project": "py", "file": "not a url"})
            assert bad.is_error and "data: URI" in text_of(bad), bad

    run(body)


@scenario("a file output is its URL, which downloads")
def _():
    async def body():
        async with client() as c:
            await c.call_tool("log", {"project": "py", "run": "r2", "metrics": {"loss": 1.5}})
            result = await c.call_tool("export_metrics", {"project": "py", "run": "r2"})
            assert not result.is_error, result
            return text_of(result)

    url = run(body)
    assert url.startswith("http://"), url
    with urllib.request.urlopen(url) as r:
        csv = r.read().decode()
    assert "loss" in csv and "1.5" in csv, csv


@scenario("a missing or wrong token is a tool error with the server's message")
def _():
    async def body():
        async with client(token=None) as c:
            result = await c.call_tool("log", {"project": "py", "run": "r", "metrics": {"x": 1}})
            assert result.is_error and "needs a write token" in text_of(result), result
        async with client(token="wrong") as c:
            result = await c.call_tool("log", {"project": "py", "run": "r", "metrics": {"x": 1}})
            assert result.is_error and "the write token is wrong" in text_of(result), result

    run(body)


@scenario("cancelling a running call cancels its job")
def _():
    async def body():
        async with client() as c:
            before = int(text_of(await c.call_tool("slow_cancelled", {})))
            with anyio.move_on_after(0.5):
                await c.call_tool("slow", {})
                raise AssertionError("slow finished instead of being cancelled")
            deadline = time.monotonic() + 10
            while True:
                now = int(text_of(await c.call_tool("slow_cancelled", {})))
                if now > before:
                    return
                assert time.monotonic() < deadline, "the job still runs 10 s after the cancel"
                await anyio.sleep(0.1)

    run(body)


finish()
