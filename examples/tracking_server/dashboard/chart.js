// One line chart (SVG, drawn here): x by step, wall time or time since the run began; y by
// value; one line per run, with axes, a legend and a read-out of the points under the
// cursor. Drag across a chart to zoom in on that range of x, double-click to see it all again;
// with the chart focused, + and - zoom, 0 resets, and the arrow keys move the cursor.
//
// Drawing: a line with more points than twice the plot's width in pixels is drawn through
// at most four points per pixel column (the first, lowest, highest and last of the points
// that fall in it), so spikes stay visible and drawing costs the same at 100,000 points as at
// 2,000. The y range covers every point within the x range shown.

import { X_TITLES, label, ticks, xText, xTicks } from "./axis.js";
import { lowerBound } from "./series.js";

const NS = "http://www.w3.org/2000/svg";
const HEIGHT = 240;
const MARGIN = { left: 58, right: 14, top: 12, bottom: 34 };
let clipIds = 0;

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

/**
 * The indexes `lo..hi` of points at `xs` to draw, at most four per pixel column of a plot
 * `width` pixels wide showing x from `x0` to `x1`; null when every index is drawn.
 */
export function visible(xs, values, lo, hi, x0, x1, width) {
  if (hi - lo <= 2 * width) return null;
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
  for (let i = lo; i < hi; i += 1) {
    const c = Math.floor((xs[i] - x0) * scale);
    const v = values[i];
    if (c !== column) {
      if (column !== null) flush();
      column = c;
      first = low = high = last = i;
    } else {
      last = i;
      if (v < values[low]) low = i;
      if (v > values[high]) high = i;
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
  /**
   * `hooks.onHover(x | null)` when the cursor moves to x (or leaves); `hooks.onZoom(min, max)`
   * for a range picked by dragging or keys; `hooks.onReset()` to see everything again.
   */
  constructor(metric, parent, hooks = {}) {
    this.metric = metric;
    this.hooks = hooks;
    this.figure = document.createElement("figure");
    this.figure.className = "chart";
    this.figure.dataset.metric = metric;
    const caption = document.createElement("figcaption");
    caption.textContent = metric;
    this.figure.appendChild(caption);
    this.svg = el("svg", { role: "img", tabindex: "0", "aria-label": `${metric}: drag or press + and - to zoom, 0 to reset, arrows to read values` }, this.figure);
    this.legend = document.createElement("ul");
    this.legend.className = "legend";
    this.figure.appendChild(this.legend);
    this.readout = document.createElement("div");
    this.readout.className = "readout";
    this.readout.textContent = "\u00a0";
    this.figure.appendChild(this.readout);
    parent.appendChild(this.figure);
    this.lines = [];
    this.scale = null;
    this.cursorX = null;
    this.drag = null;
    this.svg.addEventListener("pointerdown", (e) => this.dragStart(e));
    this.svg.addEventListener("pointermove", (e) => this.pointerMove(e));
    this.svg.addEventListener("pointerup", (e) => this.dragEnd(e));
    this.svg.addEventListener("pointerleave", () => {
      if (!this.drag) this.hooks.onHover?.(null);
    });
    this.svg.addEventListener("dblclick", () => this.hooks.onReset?.());
    this.svg.addEventListener("keydown", (e) => this.key(e));
  }

  remove() {
    this.figure.remove();
  }

  /**
   * Draws `lines`: `[{run, color, series, origin}]` (`origin`: the run's first wall time, for
   * the relative axis). Options: `smoothing` (0 to 0.99) adds an EMA line per run over a
   * faint raw one; `logY` draws y on a log scale (values <= 0 are left out there, and
   * `data-hidden` says how many); `xKind` is "step", "time" or "relative"; `zoom` is
   * `{min, max}` of x, or null for everything.
   */
  draw(lines, options = {}) {
    const logY = Boolean(options.logY);
    const smoothing = options.smoothing > 0 ? Math.min(options.smoothing, 0.99) : 0;
    const kind = options.xKind || "step";
    const zoom = options.zoom || null;
    Object.assign(this.figure.dataset, { yScale: logY ? "log" : "linear", smoothing: String(smoothing), xKind: kind, zoomed: String(Boolean(zoom)) });
    this.kind = kind;
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
    // Each line's x values and the index range inside the x range shown.
    this.lines = [];
    for (const line of lines) {
      if (!line.series || line.series.length === 0) continue;
      const xs = line.series.xs(kind, line.origin);
      let lo = 0;
      let hi = xs.length;
      while (lo < hi && !Number.isFinite(xs[lo])) lo += 1;
      if (zoom) {
        lo = Math.max(lo, lowerBound(xs, zoom.min));
        hi = lowerBound(xs, zoom.max);
        while (hi < xs.length && xs[hi] <= zoom.max) hi += 1;
      }
      this.lines.push({ ...line, xs, lo, hi });
    }
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    // On a log scale y is drawn as log10(value); values <= 0 have no place there.
    const ty = logY ? (v) => (v > 0 ? Math.log10(v) : NaN) : (v) => v;
    let hidden = 0;
    for (const { xs, lo, hi, series } of this.lines) {
      if (hi <= lo) continue;
      x0 = Math.min(x0, xs[lo]);
      x1 = Math.max(x1, xs[hi - 1]);
      for (let i = lo; i < hi; i += 1) {
        const v = ty(series.values[i]);
        if (Number.isNaN(v)) {
          hidden += 1;
          continue;
        }
        if (v < y0) y0 = v;
        if (v > y1) y1 = v;
      }
    }
    this.figure.dataset.hidden = String(hidden);
    if (zoom) {
      x0 = zoom.min;
      x1 = zoom.max;
    }
    if (!(x0 <= x1)) {
      const t = el("text", { x: MARGIN.left + plotW / 2, y: MARGIN.top + plotH / 2, class: "empty", "text-anchor": "middle" }, this.svg);
      t.textContent = zoom ? "nothing in this range (double-click to see all)" : "no numeric values";
      this.scale = zoom ? { x0: zoom.min, x1: zoom.max, plotW, xOf: () => 0, yOf: () => 0 } : null;
      return;
    }
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
    this.scale = { x0, x1, plotW, plotH, xOf, yOf };
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
    for (const [t, text] of xTicks(kind, x0, x1)) {
      const x = xOf(t);
      el("line", { x1: x, x2: x, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 5, class: "tick" }, axes);
      el("text", { x, y: MARGIN.top + plotH + 18, "text-anchor": "middle", class: "x-tick" }, axes).textContent = text;
    }
    el("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH, class: "axis" }, axes);
    el("line", { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotH, class: "axis" }, axes);
    el("text", { x: MARGIN.left + plotW, y: HEIGHT - 2, "text-anchor": "end", class: "title" }, axes).textContent = X_TITLES[kind];

    // Lines are clipped to the plot; each reaches one point past each edge of a zoomed range.
    clipIds += 1;
    const clip = `plot-clip-${clipIds}`;
    el("rect", { x: MARGIN.left, y: MARGIN.top - 2, width: plotW, height: plotH + 4 }, el("clipPath", { id: clip }, el("defs", {}, this.svg)));
    const plot = el("g", { "clip-path": `url(#${clip})` }, this.svg);
    for (const { run, color, series, xs, lo, hi } of this.lines) {
      const from = Math.max(lo - 1, 0);
      const to = Math.min(hi + 1, xs.length);
      const keep = visible(xs, series.values, from, to, x0, x1, plotW);
      const count = keep ? keep.length : to - from;
      const path = (values) => {
        const parts = [];
        for (let k = 0; k < count; k += 1) {
          const i = keep ? keep[k] : from + k;
          const y = yOf(values[i]);
          if (Number.isFinite(y) && Number.isFinite(xs[i])) parts.push(`${xOf(xs[i]).toFixed(1)},${y.toFixed(1)}`);
        }
        return parts;
      };
      const parts = path(series.values);
      const line = el("polyline", { points: parts.join(" "), stroke: color, class: smoothing ? "line raw" : "line" }, plot);
      line.dataset.run = run;
      line.dataset.count = series.length;
      line.dataset.shown = Math.max(hi - lo, 0);
      if (smoothing) {
        const smoothed = el("polyline", { points: path(smooth(series.values, smoothing)).join(" "), stroke: color, class: "line smoothed" }, plot);
        smoothed.dataset.smoothedRun = run;
      }
      if (parts.length === 1) {
        const [x, y] = parts[0].split(",");
        el("circle", { cx: x, cy: y, r: 3, fill: color }, plot);
      }
    }
    this.band = el("rect", { class: "zoom-band", y: MARGIN.top, height: plotH, width: 0, visibility: "hidden" }, this.svg);
    this.cursor = el("g", { class: "cursor", visibility: "hidden" }, this.svg);
    this.cursorLine = el("line", { y1: MARGIN.top, y2: MARGIN.top + plotH }, this.cursor);
    if (this.cursorX !== null) this.showAt(this.cursorX);
  }

  /** The x value under a pointer event, and its place in the viewBox. */
  at(event) {
    const box = this.svg.getBoundingClientRect();
    const vb = this.svg.viewBox.baseVal;
    const px = ((event.clientX - box.left) / box.width) * vb.width;
    const { x0, x1, plotW } = this.scale;
    const clamped = Math.min(Math.max(px, MARGIN.left), MARGIN.left + plotW);
    return { px: clamped, x: x0 + ((clamped - MARGIN.left) / plotW) * (x1 - x0) };
  }

  dragStart(event) {
    if (!this.scale || event.button !== 0) return;
    this.drag = this.at(event);
    this.svg.setPointerCapture?.(event.pointerId);
  }

  pointerMove(event) {
    if (!this.scale) return;
    const here = this.at(event);
    if (this.drag && this.band) {
      const left = Math.min(this.drag.px, here.px);
      this.band.setAttribute("x", left);
      this.band.setAttribute("width", Math.abs(here.px - this.drag.px));
      this.band.setAttribute("visibility", "visible");
    }
    this.hooks.onHover?.(here.x);
  }

  dragEnd(event) {
    const start = this.drag;
    this.drag = null;
    if (this.band) this.band.setAttribute("visibility", "hidden");
    if (!start || !this.scale) return;
    const end = this.at(event);
    // A click or a tiny drag is not a zoom.
    if (Math.abs(end.px - start.px) < 5) return;
    this.hooks.onZoom?.(Math.min(start.x, end.x), Math.max(start.x, end.x));
  }

  key(event) {
    if (!this.scale) return;
    const { x0, x1 } = this.scale;
    const span = x1 - x0;
    const middle = this.cursorX ?? (x0 + x1) / 2;
    const move = (dx) => this.hooks.onHover?.(Math.min(Math.max((this.cursorX ?? middle) + dx, x0), x1));
    const actions = {
      "+": () => this.hooks.onZoom?.(Math.max(middle - span / 4, x0), Math.min(middle + span / 4, x1)),
      "=": () => actions["+"](),
      "-": () => this.hooks.onZoom?.(x0 - span / 2, x1 + span / 2),
      0: () => this.hooks.onReset?.(),
      ArrowLeft: () => move(-span / 50),
      ArrowRight: () => move(span / 50),
      Escape: () => this.hooks.onHover?.(null),
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  }

  /** Shows the cursor at x (axis units) and reads out the nearest point of each line there;
   * null hides it. */
  showAt(x) {
    this.cursorX = x;
    if (x === null || !this.scale || !this.cursor) {
      this.cursor?.setAttribute("visibility", "hidden");
      this.readout.textContent = "\u00a0";
      delete this.figure.dataset.cursor;
      return;
    }
    let best = null;
    for (const line of this.lines) {
      const i = nearest(line.xs, line.lo, line.hi, x);
      if (i >= 0 && (best === null || Math.abs(line.xs[i] - x) < Math.abs(best - x))) best = line.xs[i];
    }
    for (const dot of this.cursor.querySelectorAll("circle")) dot.remove();
    if (best === null) {
      this.cursor.setAttribute("visibility", "hidden");
      this.readout.textContent = "\u00a0";
      return;
    }
    const px = this.scale.xOf(best);
    this.cursorLine.setAttribute("x1", px);
    this.cursorLine.setAttribute("x2", px);
    const parts = [xText(this.kind, best)];
    for (const line of this.lines) {
      const i = nearest(line.xs, line.lo, line.hi, best);
      if (i < 0 || line.xs[i] !== best) continue;
      const v = line.series.values[i];
      const cy = this.scale.yOf(v);
      if (Number.isFinite(cy)) el("circle", { cx: px, cy, r: 4, fill: line.color }, this.cursor);
      parts.push(`${line.run}: ${label(v)}`);
    }
    this.figure.dataset.cursor = String(best);
    this.cursor.setAttribute("visibility", "visible");
    this.readout.textContent = parts.join("   ");
  }
}

/** The index in `lo..hi` of the x nearest `x`, or -1 when the range is empty. */
function nearest(xs, lo, hi, x) {
  if (hi <= lo) return -1;
  const at = lowerBound(xs, x, hi);
  if (at <= lo) return lo;
  if (at >= hi) return hi - 1;
  return x - xs[at - 1] <= xs[at] - x ? at - 1 : at;
}
