// The runs table: one row per run with its state, creation time, last step, config values
// and latest metric values as columns. Sort by any column (click its header), filter by any
// text in a row, tick runs to draw them; each run's swatch is its colour everywhere.
// At most MAX_ROWS rows are in the page at once (sort or filter to reach the others).

import { label } from "./axis.js";

const MAX_ROWS = 200;
/** Config and summary columns shown, at most each. */
const MAX_KEYS = 12;

function cellText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return label(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function compare(a, b) {
  const na = a === null || a === undefined || a === "";
  const nb = b === null || b === undefined || b === "";
  if (na || nb) return na === nb ? 0 : na ? 1 : -1; // empty cells last
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** The keys most runs have, in order of first appearance, at most MAX_KEYS. */
function commonKeys(records, field) {
  const counts = new Map();
  for (const r of records) for (const k of Object.keys(r[field] ?? {})) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_KEYS).map(([k]) => k).sort();
}

export class RunsTable {
  /** `hooks.select(run, on)`, `hooks.colorOf(run)`, `hooks.isSelected(run)`. */
  constructor(box, hooks) {
    this.box = box;
    this.hooks = hooks;
    this.records = [];
    this.sort = { key: "created_at", down: false };
    this.filter = "";
  }

  /** The columns: [id, header, value of a record]. */
  columns() {
    const fixed = [
      ["name", "name", (r) => r.name],
      ["state", "state", (r) => r.state],
      ["created_at", "created", (r) => r.created_at],
      ["last_step", "last step", (r) => r.last_step],
    ];
    const config = commonKeys(this.records, "config").map((k) => [`config.${k}`, k, (r) => r.config?.[k]]);
    const summary = commonKeys(this.records, "summary").map((k) => [`summary.${k}`, k, (r) => r.summary?.[k]]);
    return { fixed, config, summary };
  }

  set(records) {
    this.records = records;
    this.render();
  }

  render() {
    const { fixed, config, summary } = this.columns();
    const all = [...fixed, ...config, ...summary];
    const column = all.find(([id]) => id === this.sort.key) ?? fixed[2];
    const text = this.filter.trim().toLowerCase();
    const rows = this.records.filter((r) => text === "" || all.some(([, , get]) => cellText(get(r)).toLowerCase().includes(text)));
    rows.sort((a, b) => compare(column[2](a), column[2](b)) * (this.sort.down ? -1 : 1));
    const table = document.createElement("table");
    table.className = "runs-table";
    const caption = document.createElement("caption");
    caption.textContent = rows.length > MAX_ROWS
      ? `${rows.length} runs match; the first ${MAX_ROWS} are shown (sort or filter to see others)`
      : `${rows.length} of ${this.records.length} runs`;
    table.appendChild(caption);
    const head = table.createTHead();
    if (config.length + summary.length > 0) {
      const groups = head.insertRow();
      const cell = (text, span) => {
        const th = document.createElement("th");
        th.textContent = text;
        th.colSpan = span;
        th.scope = "colgroup";
        groups.appendChild(th);
      };
      cell("", fixed.length + 1);
      if (config.length) cell("config", config.length);
      if (summary.length) cell("latest values", summary.length);
    }
    const header = head.insertRow();
    const draw = document.createElement("th");
    draw.textContent = "draw";
    draw.scope = "col";
    header.appendChild(draw);
    for (const [id, name] of all) {
      const th = document.createElement("th");
      th.scope = "col";
      th.dataset.column = id;
      const sorted = this.sort.key === id;
      th.setAttribute("aria-sort", sorted ? (this.sort.down ? "descending" : "ascending") : "none");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `${name}${sorted ? (this.sort.down ? " ▼" : " ▲") : ""}`;
      button.addEventListener("click", () => {
        this.sort = { key: id, down: sorted ? !this.sort.down : false };
        this.render();
      });
      th.appendChild(button);
      header.appendChild(th);
    }
    const body = table.createTBody();
    for (const r of rows.slice(0, MAX_ROWS)) {
      const tr = body.insertRow();
      tr.dataset.run = r.name;
      const pick = tr.insertCell();
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = this.hooks.isSelected(r.name);
      box.setAttribute("aria-label", `draw ${r.name}`);
      box.addEventListener("change", () => this.hooks.select(r.name, box.checked));
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = this.hooks.colorOf(r.name) ?? "transparent";
      pick.append(box, swatch);
      for (const [id, , get] of all) {
        const td = tr.insertCell();
        const value = get(r);
        td.textContent = id === "created_at" && typeof value === "string" ? value.replace("T", " ").slice(0, 19) : cellText(value);
        if (typeof value === "number") td.className = "number";
        if (id === "state") td.className = `state ${value}`;
      }
    }
    this.box.replaceChildren(table);
  }
}
