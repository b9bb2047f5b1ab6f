// Runs the official JS client, @gradio/client, against a gradio-compat server.
//
// Usage: node suite.mjs URL WRITE_TOKEN
//
// Started by interop/rust/tests/clients.rs. Prints one line per scenario and ends with
// "N passed, M failed"; exits 1 when anything failed. Every call has a time limit, so a
// client that hangs (a missing close_stream does that) fails instead of blocking CI.
import { Client, handle_file } from "@gradio/client";
import { assert, finish, scenario, within } from "./harness.mjs";

const [url, token] = process.argv.slice(2);
async function rejectsWith(promise, needle) {
  try {
    await promise;
  } catch (e) {
    const text = String(e && e.message ? e.message : e);
    assert(text.includes(needle), `${JSON.stringify(needle)} not in ${JSON.stringify(text)}`);
    return;
  }
  throw new Error(`expected a rejection containing ${JSON.stringify(needle)}`);
}

const client = await within(Client.connect(url, { token }), "connect");

await scenario("three predicts in a row on one client do not hang", async () => {
  for (let i = 0; i < 3; i++) {
    const r = await within(client.predict("/log", { project: "js", run: "r1", metrics: { loss: i } }), `predict ${i + 1}`);
    // A function without a result answers [null], as Gradio and Trackio do.
    assert(JSON.stringify(r.data) === "[null]", JSON.stringify(r.data));
  }
  const v = await within(client.predict("/get_metric_values", ["js", "r1", "loss"]), "read back");
  assert(JSON.stringify(v.data[0].map((p) => p.step)) === "[0,1,2]", JSON.stringify(v.data));
});

await scenario("ten predicts at once on one client all finish (the session closes only once idle)", async () => {
  const all = await within(Promise.all([...Array(10).keys()].map(() => client.predict("/get_all_projects", []))), "ten at once");
  assert(all.length === 10 && all.every((r) => Array.isArray(r.data[0])), JSON.stringify(all.map((r) => r.data)));
});

await scenario("a file input (handle_file) reaches the handler", async () => {
  const r = await within(client.predict("/upload_artifact", { project: "js", file: handle_file(new Blob(["hello"])) }), "upload_artifact");
  const art = r.data[0];
  assert(art.size === 5, JSON.stringify(art));
  assert(art.sha256 === "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", JSON.stringify(art));
});

await scenario("a local file path (handle_file in Node) reaches the handler under its own name", async () => {
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const path = join(mkdtempSync(join(tmpdir(), "gc-js-")), "weights.bin");
  writeFileSync(path, "hello");
  const r = await within(client.predict("/upload_artifact", ["js", handle_file(path)]), "upload_artifact");
  assert(r.data[0].name === "weights.bin" && r.data[0].size === 5, JSON.stringify(r.data));
});

await scenario("a file output comes back as FileData with a URL", async () => {
  const r = await within(client.predict("/export_metrics", { project: "js", run: "r1" }), "export_metrics");
  const file = r.data[0];
  // The URL carries the mount path the client connected to (…/tools/ when nested).
  const base = url.replace(/\/$/, "");
  assert(file.url && file.url.startsWith(`${base}/gradio_api/file=`), JSON.stringify(file));
  const body = await within(fetch(file.url).then((res) => res.text()), "download");
  assert(body.startsWith("step,metric,value,timestamp"), body);
});

await scenario("a handler error rejects predict with the handler's message", async () => {
  await within(rejectsWith(client.predict("/get_metric_values", ["no-such-project", "r", "loss"]), 'unknown project "no-such-project"'), "error");
});

await scenario("a token passed with `token` authorizes writes; without it our message shows", async () => {
  const anonymous = await within(Client.connect(url), "connect without token");
  await within(rejectsWith(anonymous.predict("/log", ["js-tok", "r", { x: 1 }]), "needs a write token"), "refused write");
  const wrong = await within(Client.connect(url, { token: "not-the-token" }), "connect with a wrong token");
  await within(rejectsWith(wrong.predict("/log", ["js-tok", "r", { x: 1 }]), "the write token is wrong"), "wrong token");
  const r = await within(client.predict("/get_runs_for_project", ["js"]), "read");
  assert(JSON.stringify(r.data[0].map((run) => run.name)) === '["r1"]', JSON.stringify(r.data));
});

await scenario("submit() yields a data event per partial output, and progress", async () => {
  // Status events are published only when asked for.
  const streaming = await within(Client.connect(url, { events: ["data", "status"] }), "connect");
  const job = streaming.submit("/count", { n: 3, delay_ms: 50 });
  const data = [];
  let progress = 0;
  for await (const message of job) {
    if (message.type === "data") data.push(message.data[0]);
    if (message.type === "status" && message.progress_data) progress += 1;
    if (message.type === "status" && (message.stage === "complete" || message.stage === "error")) break;
  }
  // Three partial outputs, then the completed one repeats the last (as with real Gradio).
  assert(JSON.stringify(data) === "[0,1,2,2]", JSON.stringify(data));
  assert(progress > 0, "no progress status event");
});

await scenario("submit() yields the completed data", async () => {
  const job = client.submit("/get_all_projects", []);
  let data = null;
  for await (const message of job) {
    if (message.type === "data") data = message.data;
    if (message.type === "status" && (message.stage === "complete" || message.stage === "error")) break;
  }
  assert(Array.isArray(data) && data[0].includes("js"), JSON.stringify(data));
});

finish();
