// The x axis of the charts: by step, by wall time or by time since the run's first point.
// Values on the axis: steps; milliseconds since the epoch; seconds since the run began.

/** The kinds of x axis, as named in the link (`x=`). */
export const X_KINDS = ["step", "time", "relative"];

/** The axis title of each kind. */
export const X_TITLES = { step: "step", time: "wall time", relative: "time since start" };

const SECOND_UNITS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

/** About `count` round tick values covering [min, max]. */
export function ticks(min, max, count = 5) {
  const span = max - min;
  if (!(span > 0) || !Number.isFinite(span)) return [min];
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 5, 10].map((m) => m * power).find((u) => span / u <= count) ?? 10 * power;
  return multiples(min, max, unit);
}

function multiples(min, max, unit) {
  const out = [];
  for (let t = Math.ceil(min / unit) * unit; t <= max + unit * 1e-9; t += unit) {
    out.push(Math.abs(t) < unit * 1e-9 ? 0 : t);
  }
  return out;
}

/** Ticks of a span of seconds at round units of time (1 s, 5 s, 1 min, 1 h, 1 day, …). */
function secondTicks(min, max, count = 5) {
  const span = max - min;
  if (!(span > 0) || !Number.isFinite(span)) return [min];
  const unit = SECOND_UNITS.find((u) => span / u <= count);
  return unit === undefined || span < count ? ticks(min, max, count) : multiples(min, max, unit);
}

/** A short label for a number. */
export function label(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(5)));
}

/** A duration in seconds, shortly: `45s`, `2m30s`, `1h05m`, `3d4h`. */
export function duration(seconds) {
  const sign = seconds < 0 ? "-" : "";
  let s = Math.abs(seconds);
  if (s < 60) return sign + `${Number(s.toPrecision(3))}s`;
  s = Math.round(s);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (d > 0) return sign + `${d}d${h ? `${h}h` : ""}`;
  if (h > 0) return sign + `${h}h${m ? `${String(m).padStart(2, "0")}m` : ""}`;
  return sign + `${m}m${r ? `${String(r).padStart(2, "0")}s` : ""}`;
}

const pad = (n) => String(n).padStart(2, "0");

/** A wall time (ms since the epoch), in local time: `14:05:09`, or with its date past a day. */
export function clock(ms, withDate = false) {
  const d = new Date(ms);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withDate ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}` : time;
}

/** Tick values and their labels for an x axis of `kind` over [min, max]. */
export function xTicks(kind, min, max) {
  if (kind === "time") {
    const seconds = secondTicks(min / 1000, max / 1000);
    const withDate = max - min > 86400e3;
    return seconds.map((s) => [s * 1000, clock(s * 1000, withDate)]);
  }
  if (kind === "relative") return secondTicks(min, max).map((s) => [s, duration(s)]);
  return ticks(min, max).map((t) => [t, label(t)]);
}

/** One x value as the read-out says it. */
export function xText(kind, x) {
  if (kind === "time") return clock(x, true);
  if (kind === "relative") return duration(x);
  return `step ${x}`;
}
