// The numeric values of one metric of one run, sorted by step, one value per step (a later
// value for a step replaces the earlier one), each with the wall time it was logged at.
// Values that are not finite numbers are not plotted and not kept.

/** Milliseconds since the epoch of an ISO 8601 time; one without an offset is UTC, as
 * Trackio writes it. NaN when there is none. */
export function parseTime(text) {
  if (typeof text !== "string") return NaN;
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(text) ? text : `${text}Z`);
}

/** The index of the first of the sorted `xs` that is >= `x`. */
export function lowerBound(xs, x, length = xs.length) {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Series {
  constructor() {
    this.steps = [];
    this.values = [];
    this.times = [];
    this.cache = null; // the x values of the last axis asked for
  }

  get length() {
    return this.steps.length;
  }

  /** The index of the first step >= `step`. */
  lowerBound(step) {
    return lowerBound(this.steps, step);
  }

  /** Adds one value; true when it was a number and so changed the series. */
  add(step, value, timestamp) {
    if (typeof step !== "number" || typeof value !== "number" || !Number.isFinite(value)) {
      return false;
    }
    this.cache = null;
    const time = parseTime(timestamp);
    const n = this.steps.length;
    if (n === 0 || step > this.steps[n - 1]) {
      this.steps.push(step);
      this.values.push(value);
      this.times.push(time);
      return true;
    }
    const at = this.lowerBound(step);
    if (this.steps[at] === step) {
      this.values[at] = value;
      this.times[at] = time;
    } else {
      this.steps.splice(at, 0, step);
      this.values.splice(at, 0, value);
      this.times.splice(at, 0, time);
    }
    return true;
  }

  /** Adds the points `[{step, value, timestamp}]` of a read (sorted by step, as the server
   * sends them), merged with what is here. */
  addAll(points) {
    this.cache = null;
    const kept = points.filter((p) => typeof p.step === "number" && typeof p.value === "number" && Number.isFinite(p.value));
    if (kept.length === 0) return false;
    const sorted = kept.every((p, i) => i === 0 || kept[i - 1].step < p.step);
    if (!sorted) {
      for (const p of kept) this.add(p.step, p.value, p.timestamp);
      return true;
    }
    const steps = [];
    const values = [];
    const times = [];
    let i = 0;
    for (const p of kept) {
      while (i < this.steps.length && this.steps[i] < p.step) {
        steps.push(this.steps[i]);
        values.push(this.values[i]);
        times.push(this.times[i]);
        i += 1;
      }
      if (i < this.steps.length && this.steps[i] === p.step) i += 1;
      steps.push(p.step);
      values.push(p.value);
      times.push(parseTime(p.timestamp));
    }
    for (; i < this.steps.length; i += 1) {
      steps.push(this.steps[i]);
      values.push(this.values[i]);
      times.push(this.times[i]);
    }
    this.steps = steps;
    this.values = values;
    this.times = times;
    return true;
  }

  /** The first wall time of the series (ms), NaN when empty. */
  get start() {
    return this.times.length > 0 ? this.times[0] : NaN;
  }

  /**
   * The x values of the points on an axis of `kind`: steps, wall times (ms), or seconds since
   * `origin` (ms). Wall times are kept from going backwards, so that they stay sorted.
   */
  xs(kind, origin = 0) {
    if (kind === "step") return this.steps;
    const key = `${kind}:${origin}`;
    if (this.cache && this.cache.key === key) return this.cache.xs;
    const xs = new Float64Array(this.times.length);
    let last = -Infinity;
    for (let i = 0; i < xs.length; i += 1) {
      const t = Number.isFinite(this.times[i]) ? Math.max(this.times[i], last) : last;
      last = t;
      xs[i] = kind === "time" ? t : (t - origin) / 1000;
    }
    this.cache = { key, xs };
    return xs;
  }
}
