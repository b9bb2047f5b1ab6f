// The numeric values of one metric of one run, sorted by step, one value per step (a later
// value for a step replaces the earlier one). Values that are not finite numbers are not
// plotted and not kept.

export class Series {
  constructor() {
    this.steps = [];
    this.values = [];
  }

  get length() {
    return this.steps.length;
  }

  /** The index of the first step >= `step`. */
  lowerBound(step) {
    let lo = 0;
    let hi = this.steps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.steps[mid] < step) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds one value; true when it was a number and so changed the series. */
  add(step, value) {
    if (typeof step !== "number" || typeof value !== "number" || !Number.isFinite(value)) {
      return false;
    }
    const n = this.steps.length;
    if (n === 0 || step > this.steps[n - 1]) {
      this.steps.push(step);
      this.values.push(value);
      return true;
    }
    const at = this.lowerBound(step);
    if (this.steps[at] === step) this.values[at] = value;
    else {
      this.steps.splice(at, 0, step);
      this.values.splice(at, 0, value);
    }
    return true;
  }

  /** Adds the points `[{step, value}]` of a read (sorted by step, as the server sends them). */
  addAll(points) {
    let changed = false;
    if (this.steps.length === 0) {
      for (const p of points) changed = this.add(p.step, p.value) || changed;
      return changed;
    }
    // Merge: both sides sorted by step.
    const steps = [];
    const values = [];
    let i = 0;
    for (const p of points) {
      if (typeof p.step !== "number" || typeof p.value !== "number" || !Number.isFinite(p.value)) continue;
      while (i < this.steps.length && this.steps[i] < p.step) {
        steps.push(this.steps[i]);
        values.push(this.values[i]);
        i += 1;
      }
      if (i < this.steps.length && this.steps[i] === p.step) i += 1;
      if (steps.length > 0 && steps[steps.length - 1] >= p.step) {
        // Not sorted after all: add one by one.
        this.steps = steps.concat(this.steps.slice(i));
        this.values = values.concat(this.values.slice(i));
        this.add(p.step, p.value);
        for (const q of points.slice(points.indexOf(p) + 1)) this.add(q.step, q.value);
        return true;
      }
      steps.push(p.step);
      values.push(p.value);
      changed = true;
    }
    for (; i < this.steps.length; i += 1) {
      steps.push(this.steps[i]);
      values.push(this.values[i]);
    }
    this.steps = steps;
    this.values = values;
    return changed;
  }

  /** The index of the point whose step is nearest `step`, or -1 when empty. */
  nearest(step) {
    const n = this.steps.length;
    if (n === 0) return -1;
    const at = this.lowerBound(step);
    if (at === 0) return 0;
    if (at === n) return n - 1;
    return step - this.steps[at - 1] <= this.steps[at] - step ? at - 1 : at;
  }
}
