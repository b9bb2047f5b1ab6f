// One live stream per open project: a `follow_metric` call for every run and metric of the
// project, read as it arrives. When the stream ends (the server's quiet timeout, a value cap,
// a dropped connection, a restart), a new call is started after a short wait, and `onOpen`
// tells the page to fill in what it may have missed.

import { errorText, frames } from "./api.js";

/** The most values one follow call yields before it ends (the endpoint's own cap). */
const MAX_VALUES = 100000;

export class Follower {
  /**
   * `onPoint({run, metric, step, value, timestamp})` for each logged value;
   * `onOpen(opens)` each time a stream opens (1 the first time);
   * `onState("live" | "reconnecting", why)` when the stream opens or ends.
   */
  constructor(project, { timeoutS, onPoint, onOpen, onState }) {
    this.project = project;
    this.timeoutS = timeoutS;
    this.onPoint = onPoint;
    this.onOpen = onOpen;
    this.onState = onState;
    this.abort = new AbortController();
    this.stopped = false;
    this.opens = 0;
  }

  start() {
    this.loop();
    return this;
  }

  stop() {
    this.stopped = true;
    this.abort.abort();
  }

  async loop() {
    let wait = 250;
    while (!this.stopped) {
      let why = "the stream ended";
      try {
        const data = {
          project: this.project,
          run: null,
          metric_name: null,
          max_values: MAX_VALUES,
          timeout_s: this.timeoutS,
        };
        const onOpen = () => {
          wait = 250;
          this.opens += 1;
          this.onState("live");
          this.onOpen(this.opens);
        };
        for await (const frame of frames("follow_metric", data, { signal: this.abort.signal, onOpen })) {
          if (frame.event === "generating") this.onPoint(JSON.parse(frame.data)[0]);
          else if (frame.event === "error") why = errorText(frame.data);
        }
      } catch (e) {
        if (this.stopped) return;
        why = e.message;
      }
      if (this.stopped) return;
      this.onState("reconnecting", why);
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 8000);
    }
  }
}
