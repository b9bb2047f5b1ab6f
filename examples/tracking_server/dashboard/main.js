// The dashboard: pick a project, pick runs, see one chart per metric, growing live.
// Every read goes through the public Gradio API (api.js); the live stream is live.js.
//
// Deep links: /?project=P&run=R (run may repeat) opens that view. follow_timeout_s=N sets
// the live stream's quiet timeout (default 3600 s): the stream ends after N quiet seconds and
// is started again, which is what a dropped stream does too.

import { call } from "./api.js";
import { Chart } from "./chart.js";
import { Follower } from "./live.js";
import { Series } from "./series.js";

/** Runs drawn at once, at most. */
const MAX_SELECTED = 20;
/** Runs selected when a project opens without a run in the link: the latest ones. */
const DEFAULT_SELECTED = 5;
/** Buckets (pixel columns, wider than any chart) a line is read in: a longer line comes as
 * each bucket's first, last, lowest and highest value (the server's M4 envelope, so no spike
 * or dip is left out), then grows live. */
const READ_BUCKETS = 2000;
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const followTimeout = Math.min(Math.max(Number(params.get("follow_timeout_s")) || 3600, 0.5), 3600);

const view = {
  /** Drawing options, kept in the link: EMA smoothing weight (0 = none) and log-scale y. */
  options: {
    smoothing: Math.min(Math.max(Number(params.get("smoothing")) || 0, 0), 0.99),
    logY: params.get("log_y") === "1",
  },
  project: null,
  generation: 0, // bumped when the project changes: late answers for the old one are dropped
  runs: [], // names, in the server's order
  items: new Map(), // run -> its <li>
  selected: new Map(), // run -> color
  series: new Map(), // run -> Map(metric -> Series)
  charts: new Map(), // metric -> Chart
  dirty: new Set(), // metrics to redraw
  frame: 0,
  follower: null,
};

function say(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = kind;
  box.hidden = !text;
}

function listed(names) {
  if (names.length === 0) return "none";
  const shown = names.slice(0, 10).map((n) => `“${n}”`).join(", ");
  return names.length > 10 ? `${shown} and ${names.length - 10} more` : shown;
}

function setLive(state, why) {
  document.body.dataset.live = state;
  const badge = $("live");
  badge.className = `live ${state}`;
  badge.textContent = state === "live" ? "live" : state === "reconnecting" ? "reconnecting…" : "not live";
  badge.title = why || "";
}

function updateLink() {
  const q = new URLSearchParams();
  if (view.project !== null) q.set("project", view.project);
  for (const run of view.selected.keys()) q.append("run", run);
  if (view.options.smoothing > 0) q.set("smoothing", String(view.options.smoothing));
  if (view.options.logY) q.set("log_y", "1");
  if (params.has("follow_timeout_s")) q.set("follow_timeout_s", params.get("follow_timeout_s"));
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

// Drawing, at most once per frame, only of the charts whose data changed.

function redrawSoon(metric) {
  if (metric === undefined) for (const m of view.charts.keys()) view.dirty.add(m);
  else view.dirty.add(metric);
  if (!view.frame) view.frame = requestAnimationFrame(redraw);
}

function redraw() {
  view.frame = 0;
  const metrics = new Set();
  for (const run of view.selected.keys()) for (const m of view.series.get(run)?.keys() ?? []) metrics.add(m);
  for (const [m, chart] of view.charts) {
    if (!metrics.has(m)) {
      chart.remove();
      view.charts.delete(m);
    }
  }
  const box = $("charts");
  let added = false;
  for (const m of metrics) {
    if (!view.charts.has(m)) {
      view.charts.set(m, new Chart(m, box));
      view.dirty.add(m);
      added = true;
    }
  }
  // Keep the charts sorted by metric name.
  if (added) for (const m of [...view.charts.keys()].sort()) box.appendChild(view.charts.get(m).figure);
  for (const m of view.dirty) {
    const chart = view.charts.get(m);
    if (!chart) continue;
    const lines = [];
    for (const [run, color] of view.selected) {
      const series = view.series.get(run)?.get(m);
      if (series) lines.push({ run, color, series });
    }
    chart.draw(lines, view.options);
  }
  view.dirty.clear();
  $("empty").hidden = view.charts.size > 0;
  $("empty").textContent = view.project === null ? "Pick a project." : view.selected.size === 0 ? "Pick runs to draw." : "No metrics logged yet.";
}

function seriesOf(run, metric) {
  let byMetric = view.series.get(run);
  if (!byMetric) view.series.set(run, (byMetric = new Map()));
  let series = byMetric.get(metric);
  if (!series) byMetric.set(metric, (series = new Series()));
  return series;
}

// Reading.

async function loadRun(run) {
  const generation = view.generation;
  const project = view.project;
  try {
    const metrics = await call("get_metrics_for_run", { project, run });
    await Promise.all(
      metrics.map(async (metric_name) => {
        const read = await call("get_metric_envelope", { project, run, metric_name, buckets: READ_BUCKETS });
        if (generation !== view.generation || !view.selected.has(run)) return;
        seriesOf(run, metric_name).addAll(read.points);
        redrawSoon(metric_name);
      }),
    );
  } catch (e) {
    if (generation === view.generation) say(`Could not read run “${run}”: ${e.message}`);
  }
  if (generation === view.generation) redrawSoon();
}

function loadSelected() {
  for (const run of view.selected.keys()) loadRun(run);
}

// Runs.

function freeColor() {
  const used = new Set(view.selected.values());
  return COLORS.find((c) => !used.has(c)) ?? COLORS[view.selected.size % COLORS.length];
}

function select(run, on) {
  const item = view.items.get(run);
  if (on && !view.selected.has(run)) {
    if (view.selected.size >= MAX_SELECTED) {
      say(`At most ${MAX_SELECTED} runs are drawn at once; clear some first.`, "note");
      if (item) item.querySelector("input").checked = false;
      return;
    }
    view.selected.set(run, freeColor());
    loadRun(run);
  } else if (!on && view.selected.has(run)) {
    view.selected.delete(run);
    view.series.delete(run);
  }
  if (item) {
    item.querySelector("input").checked = view.selected.has(run);
    item.querySelector(".swatch").style.background = view.selected.get(run) ?? "transparent";
  }
  $("run-count").textContent = `${view.selected.size} of ${view.runs.length} drawn`;
  updateLink();
  redrawSoon();
}

function addRunItem(run) {
  const item = document.createElement("li");
  const box = document.createElement("label");
  const input = document.createElement("input");
  input.type = "checkbox";
  input.addEventListener("change", () => select(run, input.checked));
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  box.append(input, swatch, document.createTextNode(run));
  item.appendChild(box);
  item.dataset.run = run;
  const filter = $("run-filter").value.trim().toLowerCase();
  item.hidden = filter !== "" && !run.toLowerCase().includes(filter);
  $("runs").appendChild(item);
  view.items.set(run, item);
  view.runs.push(run);
}

function filterRuns() {
  const filter = $("run-filter").value.trim().toLowerCase();
  for (const [run, item] of view.items) item.hidden = filter !== "" && !run.toLowerCase().includes(filter);
}

// Live values.

function onPoint(p) {
  if (!p || typeof p.run !== "string" || typeof p.metric !== "string") return;
  if (!view.items.has(p.run)) {
    // A run that started while the page is open.
    addRunItem(p.run);
    if (view.selected.size < DEFAULT_SELECTED) select(p.run, true);
    else select(p.run, false);
  }
  if (!view.selected.has(p.run)) return;
  if (seriesOf(p.run, p.metric).add(p.step, p.value)) redrawSoon(p.metric);
}

// Projects.

async function openProject(project, wantedRuns) {
  view.generation += 1;
  const generation = view.generation;
  if (view.follower) view.follower.stop();
  view.follower = null;
  view.project = project;
  view.runs = [];
  view.items.clear();
  view.selected.clear();
  view.series.clear();
  $("runs").replaceChildren();
  $("project").value = project;
  say("");
  setLive("off");
  redrawSoon();
  let records;
  try {
    records = await call("get_runs_for_project", { project });
  } catch (e) {
    say(`Could not list the runs of “${project}”: ${e.message}`);
    return;
  }
  if (generation !== view.generation) return;
  const names = [...new Set(records.map((r) => (typeof r === "string" ? r : r.name)).filter((n) => typeof n === "string"))];
  for (const name of names) addRunItem(name);
  const unknown = wantedRuns.filter((r) => !view.items.has(r));
  if (unknown.length > 0) {
    say(`Project “${project}” has no run named ${listed(unknown)}. Its runs: ${listed(names)}.`);
  }
  const chosen = wantedRuns.length > 0 ? wantedRuns.filter((r) => view.items.has(r)) : names.slice(-DEFAULT_SELECTED);
  // Reads start when the live stream is open, so nothing logged in between is missed.
  for (const run of chosen.slice(0, MAX_SELECTED)) view.selected.set(run, freeColor());
  for (const [run, color] of view.selected) {
    const item = view.items.get(run);
    item.querySelector("input").checked = true;
    item.querySelector(".swatch").style.background = color;
  }
  $("run-count").textContent = `${view.selected.size} of ${view.runs.length} drawn`;
  updateLink();
  let opened = false;
  view.follower = new Follower(project, {
    timeoutS: followTimeout,
    onPoint,
    onState: (state, why) => {
      setLive(state, why);
      // No stream at all: read anyway.
      if (state === "reconnecting" && !opened) {
        opened = true;
        loadSelected();
      }
    },
    onOpen: (opens) => {
      opened = true;
      document.body.dataset.streams = opens;
      loadSelected();
    },
  }).start();
}

async function main() {
  $("project").addEventListener("change", (e) => openProject(e.target.value, []));
  $("run-filter").addEventListener("input", filterRuns);
  $("select-shown").addEventListener("click", () => {
    for (const [run, item] of view.items) if (!item.hidden && view.selected.size < MAX_SELECTED) select(run, true);
  });
  $("clear-runs").addEventListener("click", () => {
    for (const run of [...view.selected.keys()]) select(run, false);
  });
  window.addEventListener("resize", () => redrawSoon());
  const smoothing = $("smoothing");
  smoothing.value = String(view.options.smoothing);
  $("smoothing-value").textContent = String(view.options.smoothing);
  smoothing.addEventListener("input", () => {
    view.options.smoothing = Number(smoothing.value);
    $("smoothing-value").textContent = smoothing.value;
    updateLink();
    redrawSoon();
  });
  const logY = $("log-y");
  logY.checked = view.options.logY;
  logY.addEventListener("change", () => {
    view.options.logY = logY.checked;
    updateLink();
    redrawSoon();
  });
  let projects;
  try {
    projects = await call("get_all_projects", {});
  } catch (e) {
    say(`Could not list the projects: ${e.message}`);
    return;
  }
  const picker = $("project");
  for (const name of projects) picker.appendChild(new Option(name, name));
  const wanted = params.get("project");
  if (projects.length === 0) {
    say("No projects yet: log some metrics (see /gradio_api/info) and reload.", "note");
    redrawSoon();
  } else if (wanted !== null && !projects.includes(wanted)) {
    picker.value = "";
    say(`There is no project named “${wanted}”. Projects here: ${listed(projects)}.`);
    redrawSoon();
  } else {
    await openProject(wanted ?? projects[0], wanted !== null ? params.getAll("run") : []);
  }
  document.body.dataset.ready = "true";
}

main();
