// Calls of the tracking server's public Gradio API, as any client makes them: start a call
// with POST /gradio_api/call/{name}, then read its result stream with GET
// /gradio_api/call/{name}/{event_id}. Nothing here is private to the dashboard.

const PREFIX = "/gradio_api";

/** A call that failed; the message says which endpoint and why. */
export class ApiError extends Error {}

function reason(body, status) {
  if (body && typeof body.error === "string") return body.error;
  return `HTTP ${status}`;
}

/**
 * Splits server-sent-event text into complete frames `{event, data}`; returns them and the
 * unfinished rest.
 */
export function splitFrames(buffer) {
  const frames = [];
  let start = 0;
  let end;
  while ((end = buffer.indexOf("\n\n", start)) >= 0) {
    let event = "message";
    const data = [];
    for (const line of buffer.slice(start, end).split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    frames.push({ event, data: data.join("\n") });
    start = end + 2;
  }
  return [frames, buffer.slice(start)];
}

// At most this many calls at once, so that the live stream always has a connection of the
// browser's six per server.
const SLOTS = 3;
let busy = 0;
const waiting = [];

async function slot() {
  if (busy < SLOTS) {
    busy += 1;
    return;
  }
  await new Promise((resolve) => waiting.push(resolve));
}

function release() {
  const next = waiting.shift();
  if (next) next();
  else busy -= 1;
}

/**
 * Starts a call of `name` with `data` (parameters by name) and yields the frames of its
 * result stream. `onOpen` runs once the stream is open, before any frame.
 */
export async function* frames(name, data, { signal, onOpen } = {}) {
  const started = await fetch(`${PREFIX}/call/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data }),
    signal,
  });
  const body = await started.json().catch(() => null);
  if (!started.ok || !body || typeof body.event_id !== "string") {
    throw new ApiError(`${name}: ${reason(body, started.status)}`);
  }
  const response = await fetch(`${PREFIX}/call/${name}/${body.event_id}`, { signal });
  if (!response.ok || !response.body) {
    throw new ApiError(`${name}: the result stream answered HTTP ${response.status}`);
  }
  if (onOpen) onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      let list;
      [list, buffer] = splitFrames(buffer + value);
      for (const frame of list) yield frame;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function errorText(data) {
  try {
    const payload = JSON.parse(data);
    if (payload && typeof payload.error === "string") return payload.error;
  } catch {
    // not JSON: said as it came
  }
  return data || "the call failed";
}

/** Calls `name` and returns its one output. */
export async function call(name, data, { signal } = {}) {
  await slot();
  try {
    for await (const frame of frames(name, data, { signal })) {
      if (frame.event === "complete") return JSON.parse(frame.data)[0];
      if (frame.event === "error") throw new ApiError(`${name}: ${errorText(frame.data)}`);
    }
    throw new ApiError(`${name}: the result stream ended without a result`);
  } finally {
    release();
  }
}

export { errorText };
