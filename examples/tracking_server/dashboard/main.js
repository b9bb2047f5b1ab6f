// The dashboard: pick a project and runs; see their metrics as charts (grouped, searchable,
// zoomable, by step or time), the runs as a table, their media, system metrics and alerts.
// Charts grow live from one `follow_metric` stream (live.js); the other panels are read
// again every few seconds while they are shown. Every read goes through the public Gradio
// API (api.js).
//
// Deep links keep the view: /?project=P&run=R (run may repeat)&tab=charts|runs|media|system|
// alerts&x=step|time|relative&x_min=..&x_max=..&smoothing=0.6&log_y=1&search=loss.
// follow_timeout_s=N sets the live stream's quiet timeout (default 3600 s).

import { call } from "./api.js";
import { AlertsPanel } from "./alerts.js";
import { X_KINDS } from "./axis.js";
import { Board } from "./board.js";
import { Follower } from "./live.js";
import { MediaPanel } from "./media.js";
import { RunsTable } from "./runs_table.js";
import { Series } from "./series.js";

/** Runs drawn at once, at most. */
const MAX_SELECTED = 20;
/** Runs selected when a project opens without a run in the link: the latest ones. */
const DEFAULT_SELECTED = 5;
/** Runs listed in the side list at once, at most (filter to reach the others). */
const MAX_LISTED = 300;
/** Buckets a line is read in: a longer line comes as each bucket's first, last, lowest and
 * highest value (the server's M4 envelope, so no spike or dip is left out). Zooming in
 * reads the zoomed range again at this resolution. */
const READ_BUCKETS = 2000;
/** How often a shown panel other than the charts is read again, and the project list. */
const REFRESH_MS = 3000;
/** 20 colours distinguishable on light and dark backgrounds; a run keeps its colour. */
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  "#393b79", "#e6550d", "#31a354", "#ad494a", "#756bb1", "#a55194", "#6b6ecf", "#b5cf6b", "#e7969c", "#3182bd"];
const TABS = ["charts", "runs", "media", "system", "alerts"];

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const followTimeout = Math.min(Math.max(Number(params.get("follow_timeout_s")) || 3600, 0.5), 3600);

function linkedZoom() {
  const min = Number(params.get("x_min"));
  const max = Number(params.get("x_max"));
  return params.has("x_min") && params.has("x_max") && Number.isFinite(min) && Number.isFinite(max) && min < max ? { min, max } : null;
}

const view = {
  /** Drawing options, kept in the link. */
  options: {
    smoothing: Math.min(Math.max(Number(params.get("smoothing")) || 0, 0), 0.99),
    logY: params.get("log_y") === "1",
    xKind: X_KINDS.includes(params.get("x")) ? params.get("x") : "step",
    zoom: linkedZoom(),
  },
  tab: TABS.includes(params.get("tab")) ? params.get("tab") : "charts",
  search: params.get("search") ?? "",
  project: null,
  projects: [],
  generation: 0, // bumped when the project changes: late answers for the old one are dropped
  runs: [], // names, in the server's order
  items: new Map(), // run -> its <li>
  selected: new Map(), // run -> colour
  colors: new Map(), // run -> colour it had (kept when it is drawn again)
  series: new Map(), // run -> Map(metric -> Series), the whole line
  detail: new Map(), // run -> Map(metric -> Series), the zoomed range read again
  zoomGeneration: 0,
  system: new Map(), // run -> Map(metric -> Series)
  systemZoom: null,
  follower: null,
  settings: null,
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
  if (view.tab !== "charts") q.set("tab", view.tab);
  if (view.options.xKind !== "step") q.set("x", view.options.xKind);
  if (view.options.zoom) {
    q.set("x_min", String(view.options.zoom.min));
    q.set("x_max", String(view.options.zoom.max));
  }
  if (view.options.smoothing > 0) q.set("smoothing", String(view.options.smoothing));
  if (view.options.logY) q.set("log_y", "1");
  if (view.search) q.set("search", view.search);
  if (params.has("follow_timeout_s")) q.set("follow_timeout_s", params.get("follow_timeout_s"));
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

function colorOf(run) {
  return view.selected.get(run) ?? view.colors.get(run) ?? null;
}

/** The first wall time a run logged (ms), the origin of the relative axis. */
function originOf(run) {
  let origin = Infinity;
  for (const s of view.series.get(run)?.values() ?? []) if (s.start < origin) origin = s.start;
  for (const s of view.system.get(run)?.values() ?? []) if (s.start < origin) origin = s.start;
  return Number.isFinite(origin) ? origin : 0;
}

// The charts.

const board = new Board($("charts"), {
  lines: (metric) => {
    const lines = [];
    for (const [run, color] of view.selected) {
      const series = view.detail.get(run)?.get(metric) ?? view.series.get(run)?.get(metric);
      if (series) lines.push({ run, color, series, origin: originOf(run) });
    }
    return lines;
  },
  options: () => view.options,
  onZoom: (min, max) => setZoom({ min, max }),
  onReset: () => setZoom(null),
});

const systemBoard = new Board($("system-charts"), {
  lines: (metric) => {
    const lines = [];
    for (const [run, color] of view.selected) {
      const series = view.system.get(run)?.get(metric);
      if (series) lines.push({ run, color, series, origin: originOf(run) });
    }
    return lines;
  },
  options: () => ({ ...view.options, xKind: view.options.xKind === "time" ? "time" : "relative", zoom: view.systemZoom }),
  onZoom: (min, max) => {
    view.systemZoom = { min, max };
    systemBoard.redrawSoon();
  },
  onReset: () => {
    view.systemZoom = null;
    systemBoard.redrawSoon();
  },
});

function redrawSoon(metric) {
  if (metric === undefined) {
    const metrics = new Set();
    for (const run of view.selected.keys()) for (const m of view.series.get(run)?.keys() ?? []) metrics.add(m);
    board.sync(metrics);
  }
  board.redrawSoon(metric);
  const empty = $("empty");
  empty.hidden = board.charts.size > 0;
  empty.textContent = view.project === null ? "Pick a project." : view.selected.size === 0 ? "Pick runs to draw." : "No metrics logged yet.";
  $("reset-zoom").hidden = view.options.zoom === null;
  document.body.dataset.zoomed = String(view.options.zoom !== null);
}

function seriesOf(store, run, metric) {
  let byMetric = store.get(run);
  if (!byMetric) store.set(run, (byMetric = new Map()));
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
        seriesOf(view.series, run, metric_name).addAll(read.points);
        redrawSoon(metric_name);
      }),
    );
  } catch (e) {
    if (generation === view.generation) say(`Could not read run “${run}”: ${e.message}`);
  }
  if (generation !== view.generation) return;
  redrawSoon();
  if (view.options.zoom) loadDetail(run);
}

/** The steps that the zoomed x range covers in a run's line (one past each edge). */
function stepRange(series, zoom, origin) {
  const kind = view.options.xKind;
  if (kind === "step") return [Math.floor(zoom.min), Math.ceil(zoom.max)];
  const xs = series.xs(kind, origin);
  let lo = 0;
  while (lo < xs.length && xs[lo] < zoom.min) lo += 1;
  let hi = xs.length - 1;
  while (hi > 0 && xs[hi] > zoom.max) hi -= 1;
  return [series.steps[Math.max(lo - 1, 0)], series.steps[Math.min(hi + 1, xs.length - 1)]];
}

/** Reads a run's lines again within the zoomed range, at full resolution. */
async function loadDetail(run) {
  const zoom = view.options.zoom;
  const generation = view.generation;
  const zoomGeneration = view.zoomGeneration;
  const project = view.project;
  const lines = [...(view.series.get(run) ?? new Map())];
  await Promise.all(
    lines.map(async ([metric_name, series]) => {
      if (series.length === 0) return;
      const [min_step, max_step] = stepRange(series, zoom, originOf(run));
      try {
        const read = await call("get_metric_envelope", { project, run, metric_name, buckets: READ_BUCKETS, min_step, max_step });
        if (generation !== view.generation || zoomGeneration !== view.zoomGeneration || !view.selected.has(run)) return;
        const detail = new Series();
        detail.addAll(read.points);
        // Points logged live since the whole line was read, within the range.
        for (let i = series.lowerBound(min_step); i < series.length && series.steps[i] <= max_step; i += 1) {
          if (detail.steps.length === 0 || series.steps[i] > detail.steps[detail.length - 1]) {
            detail.add(series.steps[i], series.values[i], new Date(series.times[i]).toISOString());
          }
        }
        seriesOf(view.detail, run, metric_name);
        view.detail.get(run).set(metric_name, detail);
        redrawSoon(metric_name);
      } catch (e) {
        say(`Could not read “${metric_name}” of “${run}” in the zoomed range: ${e.message}`);
      }
    }),
  );
  if (generation === view.generation && zoomGeneration === view.zoomGeneration) document.body.dataset.detail = String(view.zoomGeneration);
}

function setZoom(zoom) {
  view.options.zoom = zoom;
  view.zoomGeneration += 1;
  view.detail.clear();
  delete document.body.dataset.detail;
  updateLink();
  redrawSoon();
  if (zoom) for (const run of view.selected.keys()) if (view.series.has(run)) loadDetail(run);
}

function loadSelected() {
  for (const run of view.selected.keys()) loadRun(run);
}

// Runs.

function freeColor(run) {
  const used = new Set(view.selected.values());
  const had = view.colors.get(run);
  if (had && !used.has(had)) return had;
  const color = COLORS.find((c) => !used.has(c) && ![...view.colors.values()].includes(c)) ?? COLORS.find((c) => !used.has(c)) ?? COLORS[0];
  view.colors.set(run, color);
  return color;
}

function showCount() {
  $("run-count").textContent = `${view.selected.size} of ${view.runs.length} drawn`;
}

function select(run, on) {
  if (on && !view.selected.has(run)) {
    if (view.selected.size >= MAX_SELECTED) {
      say(`At most ${MAX_SELECTED} runs are drawn at once; clear some first.`, "note");
      paintRun(run);
      table.render();
      return;
    }
    view.selected.set(run, freeColor(run));
    loadRun(run);
  } else if (!on && view.selected.has(run)) {
    view.selected.delete(run);
    view.series.delete(run);
    view.detail.delete(run);
    view.system.delete(run);
  }
  paintRun(run);
  showCount();
  updateLink();
  redrawSoon();
  refreshPanel();
}

function paintRun(run) {
  const item = view.items.get(run);
  if (item) {
    item.querySelector("input").checked = view.selected.has(run);
    item.querySelector(".swatch").style.background = view.selected.get(run) ?? "transparent";
  }
  const row = $("runs-table").querySelector(`tr[data-run="${CSS.escape(run)}"]`);
  if (row) {
    row.querySelector("input").checked = view.selected.has(run);
    row.querySelector(".swatch").style.background = colorOf(run) ?? "transparent";
  }
}

function runItem(run) {
  const item = document.createElement("li");
  const box = document.createElement("label");
  const input = document.createElement("input");
  input.type = "checkbox";
  input.checked = view.selected.has(run);
  input.addEventListener("change", () => select(run, input.checked));
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = view.selected.get(run) ?? "transparent";
  box.append(input, swatch, document.createTextNode(run));
  item.appendChild(box);
  item.dataset.run = run;
  return item;
}

/** Lists the runs matching the filter (the selected ones first), at most MAX_LISTED. */
function listRuns() {
  const filter = $("run-filter").value.trim().toLowerCase();
  const matching = view.runs.filter((r) => filter === "" || r.toLowerCase().includes(filter));
  const shown = [...matching.filter((r) => view.selected.has(r)), ...matching.filter((r) => !view.selected.has(r))].slice(0, MAX_LISTED);
  view.items.clear();
  const items = shown.map((run) => {
    const item = runItem(run);
    view.items.set(run, item);
    return item;
  });
  $("runs").replaceChildren(...items);
  const more = $("runs-more");
  more.hidden = matching.length <= MAX_LISTED;
  more.textContent = `${matching.length - shown.length} more match: type to narrow the list`;
  $("runs").dataset.matching = String(matching.length);
}

function addRun(run) {
  view.runs.push(run);
  listRuns();
}

// Live values.

function onPoint(p) {
  if (!p || typeof p.run !== "string" || typeof p.metric !== "string") return;
  if (!view.runs.includes(p.run)) {
    // A run that started while the page is open.
    addRun(p.run);
    select(p.run, view.selected.size < DEFAULT_SELECTED);
    showCount();
  }
  if (!view.selected.has(p.run)) return;
  let changed = seriesOf(view.series, p.run, p.metric).add(p.step, p.value, p.timestamp);
  const detail = view.detail.get(p.run)?.get(p.metric);
  if (detail) changed = detail.add(p.step, p.value, p.timestamp) || changed;
  if (changed) {
    if (board.charts.has(p.metric)) redrawSoon(p.metric);
    else redrawSoon();
  }
}

// The other panels, read when shown and every REFRESH_MS while they are.

const table = new RunsTable($("runs-table"), { select, colorOf, isSelected: (run) => view.selected.has(run) });
const media = new MediaPanel($("media-panel-body"), { colorOf });
const alerts = new AlertsPanel($("alerts-panel-body"), { colorOf });
let refreshing = false;

async function refreshPanel() {
  if (view.project === null || refreshing) return;
  refreshing = true;
  const generation = view.generation;
  const project = view.project;
  const runs = [...view.selected.keys()];
  try {
    if (view.tab === "runs") {
      const records = await call("get_runs_table", { project });
      if (generation === view.generation) table.set(records);
    } else if (view.tab === "media") {
      view.settings ??= await call("get_settings", {});
      const reads = await Promise.all(runs.map(async (run) => [run, await call("get_media", { project, run })]));
      if (generation === view.generation) media.show(new Map(reads), view.settings.media_url);
    } else if (view.tab === "system") {
      const reads = await Promise.all(runs.map(async (run) => [run, await call("get_system_envelope", { project, run, buckets: READ_BUCKETS })]));
      if (generation !== view.generation) return;
      const metrics = new Set();
      for (const [run, byMetric] of reads) {
        if (!view.selected.has(run)) continue;
        const mine = new Map();
        for (const [metric, read] of Object.entries(byMetric)) {
          const s = new Series();
          s.addAll(read.points);
          mine.set(metric, s);
          metrics.add(metric);
        }
        view.system.set(run, mine);
      }
      systemBoard.sync(metrics);
      systemBoard.redrawSoon();
      $("system-empty").hidden = metrics.size > 0;
    } else if (view.tab === "alerts") {
      const list = await call("get_alerts", { project });
      if (generation === view.generation) alerts.show(list);
    }
    if (generation === view.generation) document.body.dataset.refreshed = `${view.tab}:${Date.now()}`;
  } catch (e) {
    if (generation === view.generation) say(`Could not read the ${view.tab} panel of “${project}”: ${e.message}`);
  } finally {
    refreshing = false;
  }
}

function showTab(tab) {
  view.tab = tab;
  for (const t of TABS) {
    const button = $(`tab-${t}`);
    button.setAttribute("aria-selected", String(t === tab));
    button.tabIndex = t === tab ? 0 : -1;
    $(`panel-${t}`).hidden = t !== tab;
  }
  document.body.dataset.tab = tab;
  updateLink();
  if (tab === "charts") board.redrawSoon();
  if (tab === "system") systemBoard.redrawSoon();
  refreshPanel();
}

// Projects.

async function openProject(project, wantedRuns) {
  view.generation += 1;
  const generation = view.generation;
  if (view.follower) view.follower.stop();
  view.follower = null;
  view.project = project;
  view.runs = [];
  view.selected.clear();
  view.colors.clear();
  view.series.clear();
  view.detail.clear();
  view.system.clear();
  board.clear();
  systemBoard.clear();
  listRuns();
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
  view.runs = names;
  const unknown = wantedRuns.filter((r) => !names.includes(r));
  if (unknown.length > 0) {
    say(`Project “${project}” has no run named ${listed(unknown)}. Its runs: ${listed(names)}.`);
  }
  const chosen = wantedRuns.length > 0 ? wantedRuns.filter((r) => names.includes(r)) : names.slice(-DEFAULT_SELECTED);
  // Reads start when the live stream is open, so nothing logged in between is missed.
  for (const run of chosen.slice(0, MAX_SELECTED)) view.selected.set(run, freeColor(run));
  listRuns();
  showCount();
  updateLink();
  refreshPanel();
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

/** Adds projects created since the page opened to the picker; opens the first one when
 * there was none. */
async function refreshProjects() {
  let projects;
  try {
    projects = await call("get_all_projects", {});
  } catch {
    return; // said when it matters: the live badge and the panels' reads
  }
  const picker = $("project");
  for (const name of projects) {
    if (!view.projects.includes(name)) {
      view.projects.push(name);
      picker.appendChild(new Option(name, name));
    }
  }
  if (view.project === null && projects.length > 0 && !params.has("project")) {
    say("");
    await openProject(projects[0], []);
  }
}

function wire() {
  $("project").addEventListener("change", (e) => openProject(e.target.value, []));
  $("run-filter").addEventListener("input", listRuns);
  $("select-shown").addEventListener("click", () => {
    for (const run of view.items.keys()) if (view.selected.size < MAX_SELECTED) select(run, true);
  });
  $("clear-runs").addEventListener("click", () => {
    for (const run of [...view.selected.keys()]) select(run, false);
  });
  window.addEventListener("resize", () => {
    board.redrawSoon();
    systemBoard.redrawSoon();
  });
  const smoothing = $("smoothing");
  smoothing.value = String(view.options.smoothing);
  $("smoothing-value").textContent = String(view.options.smoothing);
  smoothing.addEventListener("input", () => {
    view.options.smoothing = Number(smoothing.value);
    $("smoothing-value").textContent = smoothing.value;
    updateLink();
    board.redrawSoon();
    systemBoard.redrawSoon();
  });
  const logY = $("log-y");
  logY.checked = view.options.logY;
  logY.addEventListener("change", () => {
    view.options.logY = logY.checked;
    updateLink();
    board.redrawSoon();
    systemBoard.redrawSoon();
  });
  const axis = $("x-axis");
  axis.value = view.options.xKind;
  axis.addEventListener("change", () => {
    view.options.xKind = axis.value;
    view.systemZoom = null;
    setZoom(null); // a range of steps means nothing in time
    systemBoard.redrawSoon();
  });
  $("reset-zoom").addEventListener("click", () => setZoom(null));
  const search = $("chart-search");
  search.value = view.search;
  board.filter(view.search);
  search.addEventListener("input", () => {
    view.search = search.value;
    board.filter(search.value);
    systemBoard.filter(search.value);
    updateLink();
  });
  $("table-filter").addEventListener("input", (e) => {
    table.filter = e.target.value;
    table.render();
  });
  $("alert-level").addEventListener("change", (e) => {
    alerts.level = e.target.value;
    refreshPanel();
  });
  // Tabs: click, or arrow keys between them (the WAI-ARIA tabs pattern).
  for (const [i, t] of TABS.entries()) {
    const button = $(`tab-${t}`);
    button.addEventListener("click", () => showTab(t));
    button.addEventListener("keydown", (e) => {
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = TABS[(i + step + TABS.length) % TABS.length];
      showTab(next);
      $(`tab-${next}`).focus();
    });
  }
}

async function main() {
  wire();
  showTab(view.tab);
  let projects;
  try {
    projects = await call("get_all_projects", {});
  } catch (e) {
    say(`Could not list the projects: ${e.message}`);
    return;
  }
  view.projects = [...projects];
  const picker = $("project");
  for (const name of projects) picker.appendChild(new Option(name, name));
  const wanted = params.get("project");
  if (projects.length === 0) {
    say("No projects yet: log some metrics (see /gradio_api/info); they appear here as they come.", "note");
    redrawSoon();
  } else if (wanted !== null && !projects.includes(wanted)) {
    picker.value = "";
    say(`There is no project named “${wanted}”. Projects here: ${listed(projects)}.`);
    redrawSoon();
  } else {
    await openProject(wanted ?? projects[0], wanted !== null ? params.getAll("run") : []);
  }
  document.body.dataset.ready = "true";
  setInterval(() => {
    refreshProjects();
    if (view.tab !== "charts") refreshPanel();
  }, REFRESH_MS);
}

main();
