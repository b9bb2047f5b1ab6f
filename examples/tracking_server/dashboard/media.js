// The media panel: for each media key the drawn runs logged (images, audio, video, tables,
// histograms, HTML), a card per run with a step slider; the slider picks which step's item is
// shown. Files are served by the server's media route with byte ranges, so audio and video
// seek. Tables are rendered as tables (the first MAX_TABLE_ROWS rows), histograms as bars.

import { label } from "./axis.js";

const MAX_TABLE_ROWS = 100;
const MAX_TABLE_COLUMNS = 30;

function text(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

/** A table of records (`[{column: value}]`). */
function recordsTable(records) {
  const table = document.createElement("table");
  table.className = "media-table";
  const columns = [];
  for (const row of records.slice(0, MAX_TABLE_ROWS)) {
    for (const k of Object.keys(row ?? {})) if (!columns.includes(k) && columns.length < MAX_TABLE_COLUMNS) columns.push(k);
  }
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = text("th", c);
    th.scope = "col";
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const row of records.slice(0, MAX_TABLE_ROWS)) {
    const tr = body.insertRow();
    for (const c of columns) {
      const v = row?.[c];
      tr.insertCell().textContent = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : typeof v === "number" ? label(v) : String(v);
    }
  }
  if (records.length > MAX_TABLE_ROWS) {
    table.appendChild(text("caption", `first ${MAX_TABLE_ROWS} of ${records.length} rows`));
  }
  return table;
}

/** Bars of a histogram `{bins, values}` (bins are the edges). */
function histogram(value) {
  const NS = "http://www.w3.org/2000/svg";
  const counts = Array.isArray(value.values) ? value.values : [];
  const bins = Array.isArray(value.bins) ? value.bins : [];
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 300 120");
  svg.setAttribute("role", "img");
  svg.setAttribute("class", "histogram");
  const top = Math.max(...counts, 1);
  const w = 300 / Math.max(counts.length, 1);
  counts.forEach((c, i) => {
    const rect = document.createElementNS(NS, "rect");
    const h = (c / top) * 110;
    Object.entries({ x: i * w, y: 115 - h, width: Math.max(w - 1, 1), height: h }).forEach(([k, v]) => rect.setAttribute(k, v));
    svg.appendChild(rect);
  });
  svg.setAttribute("aria-label", `histogram of ${counts.length} bins from ${label(bins[0] ?? 0)} to ${label(bins[bins.length - 1] ?? 0)}`);
  return svg;
}

/** The element showing one logged media value. */
function item(value, mediaUrl) {
  const type = String(value._type ?? "").replace(/^trackio\./, "");
  const src = typeof value.file_path === "string" ? mediaUrl + value.file_path.split("/").map(encodeURIComponent).join("/") : null;
  let node;
  if (type === "image" && src) {
    node = document.createElement("img");
    node.src = src;
    node.alt = value.caption || "logged image";
    node.loading = "lazy";
  } else if ((type === "audio" || type === "video") && src) {
    node = document.createElement(type);
    node.controls = true;
    node.preload = "metadata";
    node.src = src;
  } else if (type === "table" && Array.isArray(value._value)) {
    node = recordsTable(value._value);
  } else if (type === "histogram") {
    node = histogram(value);
  } else if (src) {
    node = document.createElement("a");
    node.href = src;
    node.textContent = value.file_path;
  } else {
    node = text("pre", JSON.stringify(value).slice(0, 2000));
  }
  node.classList?.add("media-item");
  node.dataset.type = type;
  return node;
}

export class MediaPanel {
  /** `hooks.colorOf(run)`. */
  constructor(box, hooks) {
    this.box = box;
    this.hooks = hooks;
    this.chosen = new Map(); // "key\u0000run" -> chosen step (kept across refreshes)
  }

  /**
   * Shows `byRun`: Map(run -> {entries, total, limit}) as read by `get_media`; `mediaUrl`
   * is where media files are served (from `get_settings`).
   */
  show(byRun, mediaUrl) {
    const keys = new Map(); // key -> Map(run -> entries)
    let cut = 0;
    for (const [run, read] of byRun) {
      if (read.total > read.entries.length) cut += read.total - read.entries.length;
      for (const e of read.entries) {
        if (!keys.has(e.key)) keys.set(e.key, new Map());
        const runs = keys.get(e.key);
        if (!runs.has(run)) runs.set(run, []);
        runs.get(run).push(e);
      }
    }
    const nodes = [];
    if (cut > 0) nodes.push(text("p", `${cut} older media items are not shown (the latest ones are).`, "note"));
    if (keys.size === 0) nodes.push(text("p", byRun.size === 0 ? "Pick runs to see their media." : "The drawn runs logged no media.", "empty"));
    for (const key of [...keys.keys()].sort()) {
      const section = document.createElement("section");
      section.className = "media-key";
      section.dataset.key = key;
      section.appendChild(text("h2", key));
      const cards = document.createElement("div");
      cards.className = "media-cards";
      for (const [run, entries] of keys.get(key)) cards.appendChild(this.card(key, run, entries, mediaUrl));
      section.appendChild(cards);
      nodes.push(section);
    }
    this.box.replaceChildren(...nodes);
  }

  card(key, run, entries, mediaUrl) {
    const card = document.createElement("figure");
    card.className = "media-card";
    card.dataset.run = run;
    const caption = document.createElement("figcaption");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = this.hooks.colorOf(run) ?? "transparent";
    const stepText = text("span", "", "media-step");
    caption.append(swatch, document.createTextNode(run), stepText);
    const holder = document.createElement("div");
    holder.className = "media-holder";
    const id = `${key}\u0000${run}`;
    const steps = entries.map((e) => e.step);
    let at = this.chosen.has(id) ? steps.lastIndexOf(this.chosen.get(id)) : -1;
    if (at < 0) at = entries.length - 1;
    const showAt = (i) => {
      const e = entries[i];
      stepText.textContent = ` step ${e.step}${e.value.caption ? ` · ${e.value.caption}` : ""}`;
      card.dataset.step = e.step;
      holder.replaceChildren(item(e.value, mediaUrl));
    };
    card.append(caption, holder);
    if (entries.length > 1) {
      const slider = document.createElement("input");
      slider.type = "range";
      slider.min = "0";
      slider.max = String(entries.length - 1);
      slider.value = String(at);
      slider.className = "step-slider";
      slider.setAttribute("aria-label", `${key} of ${run}: step`);
      slider.addEventListener("input", () => {
        const i = Number(slider.value);
        // At the latest step, the card follows new steps as they come.
        if (i === entries.length - 1) this.chosen.delete(id);
        else this.chosen.set(id, entries[i].step);
        showAt(i);
        slider.setAttribute("aria-valuetext", `step ${entries[i].step}`);
      });
      slider.setAttribute("aria-valuetext", `step ${entries[at].step}`);
      card.appendChild(slider);
    }
    showAt(at);
    return card;
  }
}
