// The alerts panel: every alert of the project, newest first, with its level, time, run,
// title, text and step; narrowed by level. At most MAX_ROWS rows are in the page.

const MAX_ROWS = 500;

export class AlertsPanel {
  /** `hooks.colorOf(run)`. */
  constructor(box, hooks) {
    this.box = box;
    this.hooks = hooks;
    this.level = "";
  }

  show(alerts) {
    const rows = alerts.filter((a) => this.level === "" || a.level === this.level);
    const table = document.createElement("table");
    table.className = "alerts-table";
    const caption = document.createElement("caption");
    caption.textContent = rows.length > MAX_ROWS ? `the latest ${MAX_ROWS} of ${rows.length} alerts` : `${rows.length} alerts`;
    table.appendChild(caption);
    const head = table.createTHead().insertRow();
    for (const name of ["level", "time", "run", "title", "text", "step"]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const a of rows.slice(0, MAX_ROWS)) {
      const tr = body.insertRow();
      tr.dataset.level = a.level;
      tr.dataset.run = a.run;
      const level = tr.insertCell();
      const badge = document.createElement("span");
      badge.className = `level ${a.level}`;
      badge.textContent = a.level;
      level.appendChild(badge);
      tr.insertCell().textContent = String(a.timestamp ?? "").replace("T", " ").slice(0, 19);
      const run = tr.insertCell();
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = this.hooks.colorOf(a.run) ?? "transparent";
      run.append(swatch, document.createTextNode(a.run));
      tr.insertCell().textContent = a.title;
      tr.insertCell().textContent = a.text ?? "";
      tr.insertCell().textContent = a.step ?? "";
    }
    this.box.replaceChildren(table);
  }
}
