// A board of charts, one per metric, in groups by the prefix before the first `/` (as
// Trackio and W&B group them: `train/loss` and `train/acc` under "train"; names without one
// under "charts"). Groups fold; a search narrows the charts by name; the cursor of one chart
// is shown on all of them at the same x. Charts of a folded group or hidden by the search are
// not drawn until they show.

import { Chart } from "./chart.js";

const UNGROUPED = "charts";

/** The group of a metric name. */
export function groupOf(metric) {
  const slash = metric.indexOf("/");
  return slash > 0 ? metric.slice(0, slash) : UNGROUPED;
}

export class Board {
  /**
   * `box`: the element the groups go in. `hooks.lines(metric)` gives the lines to draw,
   * `hooks.options()` the drawing options; `hooks.onZoom(min, max)` and `hooks.onReset()`
   * come from any chart.
   */
  constructor(box, hooks) {
    this.box = box;
    this.hooks = hooks;
    this.charts = new Map(); // metric -> Chart
    this.groups = new Map(); // name -> {section, body, button, open}
    this.dirty = new Set();
    this.frame = 0;
    this.search = "";
    this.cursor = null;
    this.folded = new Set();
  }

  /** Makes the charts those of `metrics` (a Set), adding and removing as needed. */
  sync(metrics) {
    for (const [m, chart] of this.charts) {
      if (!metrics.has(m)) {
        chart.remove();
        this.charts.delete(m);
      }
    }
    let added = false;
    for (const m of metrics) {
      if (this.charts.has(m)) continue;
      const group = this.group(groupOf(m));
      const chart = new Chart(m, group.body, {
        onHover: (x) => this.hover(x),
        onZoom: (min, max) => this.hooks.onZoom(min, max),
        onReset: () => this.hooks.onReset(),
      });
      this.charts.set(m, chart);
      this.dirty.add(m);
      added = true;
    }
    if (added) this.order();
    for (const [name, g] of this.groups) {
      const count = [...this.charts.keys()].filter((m) => groupOf(m) === name).length;
      if (count === 0) {
        g.section.remove();
        this.groups.delete(name);
      }
    }
    this.applySearch();
  }

  group(name) {
    let g = this.groups.get(name);
    if (g) return g;
    const section = document.createElement("section");
    section.className = "group";
    section.dataset.group = name;
    const heading = document.createElement("h2");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "fold";
    const body = document.createElement("div");
    body.className = "group-charts";
    body.id = `group-${name.replace(/[^A-Za-z0-9_-]/g, "_")}-${this.groups.size}`;
    button.setAttribute("aria-controls", body.id);
    heading.appendChild(button);
    section.append(heading, body);
    g = { section, body, button, name };
    button.addEventListener("click", () => {
      if (this.folded.has(name)) this.folded.delete(name);
      else this.folded.add(name);
      this.applySearch();
      this.redrawSoon();
    });
    this.groups.set(name, g);
    return g;
  }

  /** Groups by name (ungrouped first), charts by metric name within them. */
  order() {
    const names = [...this.groups.keys()].sort((a, b) => (a === UNGROUPED ? -1 : b === UNGROUPED ? 1 : a.localeCompare(b)));
    for (const name of names) {
      const g = this.groups.get(name);
      this.box.appendChild(g.section);
      const inGroup = [...this.charts.keys()].filter((m) => groupOf(m) === name).sort();
      for (const m of inGroup) g.body.appendChild(this.charts.get(m).figure);
    }
  }

  /** Shows only the charts whose name contains `text` (any case). */
  filter(text) {
    this.search = text.trim().toLowerCase();
    this.applySearch();
    this.redrawSoon();
  }

  applySearch() {
    for (const [m, chart] of this.charts) chart.figure.hidden = this.search !== "" && !m.toLowerCase().includes(this.search);
    for (const [name, g] of this.groups) {
      const charts = [...this.charts].filter(([m]) => groupOf(m) === name);
      const shown = charts.filter(([, c]) => !c.figure.hidden).length;
      const open = !this.folded.has(name);
      g.section.hidden = shown === 0;
      g.body.hidden = !open;
      g.button.setAttribute("aria-expanded", String(open));
      g.button.textContent = `${open ? "▾" : "▸"} ${name} (${shown})`;
    }
  }

  /** Whether a chart is on screen (not folded away nor searched out). */
  showing(metric) {
    const chart = this.charts.get(metric);
    return Boolean(chart) && !chart.figure.hidden && !this.folded.has(groupOf(metric));
  }

  /** Redraws `metric` (or every chart) at the next frame. */
  redrawSoon(metric) {
    if (metric === undefined) for (const m of this.charts.keys()) this.dirty.add(m);
    else this.dirty.add(metric);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.redraw());
  }

  redraw() {
    this.frame = 0;
    const options = this.hooks.options();
    for (const m of this.dirty) {
      if (!this.showing(m)) continue;
      const lines = this.hooks.lines(m);
      this.charts.get(m).draw(lines, options);
      this.dirty.delete(m);
      // The first chart with a line on this page: when "charts are drawn" (its tests time it).
      if (lines.length > 0 && performance.getEntriesByName("charts-drawn").length === 0) performance.mark("charts-drawn");
    }
  }

  /** The cursor at x on every chart (null hides it). */
  hover(x) {
    this.cursor = x;
    for (const [m, chart] of this.charts) if (this.showing(m)) chart.showAt(x);
  }

  clear() {
    this.sync(new Set());
  }
}
