// One line chart (SVG, drawn here): step on x, value on y, one line per run, with axes, a
// legend and a read-out of the points under the cursor.
//
// Downsampling: a line with more points than twice the plot's width in pixels is drawn
// through at most four points per pixel column (the first, lowest, highest and last of the
// points that fall in it), so spikes stay visible and drawing costs the same at 100,000
// points as at 2,000.

const NS = "http://www.w3.org/2000/svg";
const HEIGHT = 240;
const MARGIN = { left: 58, right: 14, top: 12, bottom: 34 };

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

/** About `count` round tick values covering [min, max]. */
export function ticks(min, max, count = 5) {
  const span = max - min;
  if (!(span > 0) || !Number.isFinite(span)) return [min];
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 5, 10].map((m) => m * power).find((u) => span / u <= count) ?? 10 * power;
  const out = [];
  for (let t = Math.ceil(min / unit) * unit; t <= max + unit * 1e-9; t += unit) {
    out.push(Math.abs(t) < unit * 1e-9 ? 0 : t);
  }
  return out;
}

/** A short label for a number. */
export function label(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(5)));
}

/**
 * The indexes of the points of `series` to draw, at most four per pixel column of a plot
 * `width` pixels wide showing steps `x0`..`x1`; every index when there are few.
 */
export function visible(series, x0, x1, width) {
  const n = series.length;
  if (n <= 2 * width) return null;
  const keep = [];
  const scale = width / (x1 - x0 || 1);
  let column = null;
  let first = 0;
  let low = 0;
  let high = 0;
  let last = 0;
  const flush = () => {
    const four = [first, low, high, last].sort((a, b) => a - b);
    for (let k = 0; k < 4; k += 1) if (k === 0 || four[k] !== four[k - 1]) keep.push(four[k]);
  };
  for (let i = 0; i < n; i += 1) {
    const c = Math.floor((series.steps[i] - x0) * scale);
    const v = series.values[i];
    if (c !== column) {
      if (column !== null) flush();
      column = c;
      first = low = high = last = i;
    } else {
      last = i;
      if (v < series.values[low]) low = i;
      if (v > series.values[high]) high = i;
    }
  }
  if (column !== null) flush();
  return keep;
}

/**
 * The exponential moving average of `values` with weight `w` (0 to <1), debiased at the start
 * as TensorBoard does, so the first points are not pulled towards 0.
 */
export function smooth(values, w) {
  const out = new Array(values.length);
  let last = 0;
  let weight = 1;
  for (let i = 0; i < values.length; i += 1) {
    last = last * w + (1 - w) * values[i];
    weight *= w;
    out[i] = last / (1 - weight);
  }
  return out;
}

export class Chart {
  constructor(metric, parent) {
    this.metric = metric;
    this.figure = document.createElement("figure");
    this.figure.className = "chart";
    this.figure.dataset.metric = metric;
    const caption = document.createElement("figcaption");
    caption.textContent = metric;
    this.figure.appendChild(caption);
    this.svg = el("svg", { role: "img", "aria-label": `${metric} by step` }, this.figure);
    this.legend = document.createElement("ul");
    this.legend.className = "legend";
    this.figure.appendChild(this.legend);
    this.readout = document.createElement("div");
    this.readout.className = "readout";
    this.readout.textContent = "\u00a0";
    this.figure.appendChild(this.readout);
    parent.appendChild(this.figure);
    this.lines = [];
    this.svg.addEventListener("mousemove", (e) => this.hover(e));
    this.svg.addEventListener("mouseleave", () => this.unhover());
  }

  remove() {
    this.figure.remove();
  }

  /**
   * Draws `lines`: `[{run, color, series}]`. `options.smoothing` (0 to 0.99) adds an EMA line
   * per run over a faint raw one; `options.logY` draws y on a log scale (values <= 0 are
   * left out there, and the chart says how many).
   */
  draw(lines, options = {}) {
    const logY = Boolean(options.logY);
    const smoothing = options.smoothing > 0 ? Math.min(options.smoothing, 0.99) : 0;
    this.figure.dataset.yScale = logY ? "log" : "linear";
    this.figure.dataset.smoothing = String(smoothing);
    this.lines = lines.filter((l) => l.series && l.series.length > 0);
    const width = Math.max(this.svg.clientWidth || this.figure.clientWidth || 480, 240);
    this.svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    this.svg.setAttribute("height", HEIGHT);
    this.svg.replaceChildren();
    this.legend.replaceChildren();
    for (const line of lines) {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = line.color;
      item.append(swatch, document.createTextNode(line.run));
      item.dataset.run = line.run;
      this.legend.appendChild(item);
    }
    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
    if (this.lines.length === 0) {
      const t = el("text", { x: MARGIN.left + plotW / 2, y: MARGIN.top + plotH / 2, class: "empty", "text-anchor": "middle" }, this.svg);
      t.textContent = "no numeric values";
      this.scale = null;
      return;
    }
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    // On a log scale y is drawn as log10(value); values <= 0 have no place there.
    const ty = logY ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v;
    let hidden = 0;
    for (const { series } of this.lines) {
      x0 = Math.min(x0, series.steps[0]);
      x1 = Math.max(x1, series.steps[series.length - 1]);
      for (const raw of series.values) {
        const v = ty(raw);
        if (Number.isNaN(v)) {
          hidden += 1;
          continue;
        }
        if (v < y0) y0 = v;
        if (v > y1) y1 = v;
      }
    }
    this.figure.dataset.hidden = String(hidden);
    if (!(y0 <= y1)) {
      y0 = 0;
      y1 = 1;
    }
    if (x0 === x1) {
      x0 -= 1;
      x1 += 1;
    }
    if (y0 === y1) {
      const pad = Math.abs(y0) * 0.1 || 1;
      y0 -= pad;
      y1 += pad;
    }
    const xOf = (s) => MARGIN.left + ((s - x0) / (x1 - x0)) * plotW;
    const yOf = (v) => MARGIN.top + (1 - (ty(v) - y0) / (y1 - y0)) * plotH;
    this.scale = { x0, x1, plotW, xOf, yOf };
    // The drawn ranges, for whoever reads the page (and its tests).
    Object.assign(this.figure.dataset, { xMin: x0, xMax: x1, yMin: y0, yMax: y1 });

    const axes = el("g", { class: "axes" }, this.svg);
    const yTicks = logY
      ? ticks(Math.floor(y0), Math.ceil(y1)).filter((t) => Number.isInteger(t) && t >= y0 && t <= y1)
      : ticks(y0, y1);
    for (const t of yTicks) {
      const y = MARGIN.top + (1 - (t - y0) / (y1 - y0)) * plotH;
      el("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: y, y2: y, class: "grid" }, axes);
      el("text", { x: MARGIN.left - 6, y: y + 4, "text-anchor": "end", class: "y-tick" }, axes).textContent = label(logY ? 10 ** t : t);
    }
    for (const t of ticks(x0, x1)) {
      const x = xOf(t);
      el("line", { x1: x, x2: x, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 5, class: "tick" }, axes);
      el("text", { x, y: MARGIN.top + plotH + 18, "text-anchor": "middle" }, axes).textContent = label(t);
    }
    el("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH, class: "axis" }, axes);
    el("line", { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotH, class: "axis" }, axes);
    el("text", { x: MARGIN.left + plotW, y: HEIGHT - 2, "text-anchor": "end", class: "title" }, axes).textContent = "step";

    for (const { run, color, series } of this.lines) {
      const keep = visible(series, x0, x1, plotW);
      const count = keep ? keep.length : series.length;
      const path = (values) => {
        const parts = [];
        for (let k = 0; k < count; k += 1) {
          const i = keep ? keep[k] : k;
          const y = yOf(values[i]);
          if (Number.isFinite(y)) parts.push(`${xOf(series.steps[i]).toFixed(1)},${y.toFixed(1)}`);
        }
        return parts;
      };
      const parts = path(series.values);
      const attrs = { points: parts.join(" "), stroke: color, class: smoothing ? "line raw" : "line" };
      const line = el("polyline", attrs, this.svg);
      line.dataset.run = run;
      line.dataset.count = series.length;
      if (smoothing) {
        const smoothed = el("polyline", { points: path(smooth(series.values, smoothing)).join(" "), stroke: color, class: "line smoothed" }, this.svg);
        smoothed.dataset.smoothedRun = run;
      }
      if (parts.length === 0) continue;
      if (series.length === 1) {
        const [x, y] = parts[0].split(",");
        el("circle", { cx: x, cy: y, r: 3, fill: color }, this.svg);
      }
    }
    this.cursor = el("g", { class: "cursor", visibility: "hidden" }, this.svg);
    this.cursorLine = el("line", { y1: MARGIN.top, y2: MARGIN.top + plotH }, this.cursor);
  }

  hover(event) {
    if (!this.scale) return;
    const box = this.svg.getBoundingClientRect();
    const vb = this.svg.viewBox.baseVal;
    const px = ((event.clientX - box.left) / box.width) * vb.width;
    const { x0, x1, plotW } = this.scale;
    const step = x0 + ((px - MARGIN.left) / plotW) * (x1 - x0);
    let best = null;
    for (const line of this.lines) {
      const i = line.series.nearest(step);
      if (i < 0) continue;
      const s = line.series.steps[i];
      if (!best || Math.abs(s - step) < Math.abs(best - step)) best = s;
    }
    if (best === null) return;
    for (const dot of this.cursor.querySelectorAll("circle")) dot.remove();
    const x = this.scale.xOf(best);
    this.cursorLine.setAttribute("x1", x);
    this.cursorLine.setAttribute("x2", x);
    const parts = [`step ${best}`];
    for (const line of this.lines) {
      const i = line.series.nearest(best);
      if (i < 0 || line.series.steps[i] !== best) continue;
      const v = line.series.values[i];
      const cy = this.scale.yOf(v);
      if (Number.isFinite(cy)) el("circle", { cx: x, cy, r: 4, fill: line.color }, this.cursor);
      parts.push(`${line.run}: ${label(v)}`);
    }
    this.cursor.setAttribute("visibility", "visible");
    this.readout.textContent = parts.join("   ");
  }

  unhover() {
    if (this.cursor) this.cursor.setAttribute("visibility", "hidden");
    this.readout.textContent = "\u00a0";
  }
}
