// Runs the official JS client, @gradio/client, against replicas of the scale_out example
// behind a round-robin proxy with no stickiness.
//
// Usage: node scale_out.mjs URL
//
// Started by interop/rust/tests/scale_out.rs. Prints one line per scenario and ends with
// "N passed, M failed"; exits 1 when anything failed.
import { Client, handle_file } from "@gradio/client";
import { assert, finish, scenario, within } from "./harness.mjs";

const [url] = process.argv.slice(2);
const client = await within(Client.connect(url), "connect");

await scenario("predicts in a row, positional and keyword", async () => {
  for (let i = 0; i < 5; i++) {
    const r = await within(client.predict("/add", { a: i, b: 1 }), `predict ${i}`);
    assert(JSON.stringify(r.data) === JSON.stringify([i + 1]), JSON.stringify(r.data));
  }
  const r = await within(client.predict("/add", [2, 3]), "positional");
  assert(JSON.stringify(r.data) === "[5]", JSON.stringify(r.data));
});

await scenario("ten predicts at once", async () => {
  const all = await within(Promise.all([...Array(10).keys()].map((i) => client.predict("/add", [i, i]))), "ten", 30000);
  assert(JSON.stringify(all.map((r) => r.data[0])) === JSON.stringify([...Array(10).keys()].map((i) => 2 * i)), "sums");
});

await scenario("submit() yields each partial output of a stream", async () => {
  const job = client.submit("/count", { n: 3, delay_ms: 20 });
  const data = [];
  for await (const message of job) {
    if (message.type === "data") data.push(message.data[0]);
    if (message.type === "status" && (message.stage === "complete" || message.stage === "error")) break;
  }
  assert(JSON.stringify(data) === "[0,1,2,2]", JSON.stringify(data));
});

await scenario("a file up to one replica, its copy fetched from another", async () => {
  for (let i = 0; i < 3; i++) {
    const r = await within(client.predict("/echo_file", [handle_file(new Blob(["round robin"]))]), "echo_file");
    const file = r.data[0];
    assert(file && file.url, JSON.stringify(r.data));
    const body = await within(fetch(file.url).then((res) => res.text()), "download");
    assert(body === "round robin", JSON.stringify(body));
  }
});

finish();
