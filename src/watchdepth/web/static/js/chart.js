// Charts, drawn by the vendored uPlot (window.uPlot, loaded by the shell). Each chart
// is paired with a data table in a <details>, so the numbers are readable without the
// canvas (screen readers, copy and paste, tests). A chart has one series, or two drawn
// side by side (a median and its p90); a null value is a gap, never a zero.

import { h, scrollBox } from "./dom.js";

const INK = "#4b5563";
const GRID = "#eceef2";
const ACCENT = "#4f46e5";
const PEAK = "#b45309";
/** Each series' colours, in order (a line's stroke and dash, a bar's fill); the legend shows the same. */
const SERIES_STYLES = [
  { stroke: ACCENT, fill: "rgba(79, 70, 229, 0.75)", area: "rgba(79, 70, 229, 0.10)", dash: null },
  { stroke: "#0e7490", fill: "rgba(14, 116, 144, 0.75)", area: null, dash: [6, 4] },
];
// The card metrics are whole numbers (counts, seconds, percent): ticks at whole steps only.
const WHOLE_STEPS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9].map((p) => m * p))
  .sort((a, b) => a - b);
/** Steps for figures with decimals (startup seconds, a rebuffer ratio): tenths first. */
export const TENTH_STEPS = [0.1, 0.2, 0.5, ...WHOLE_STEPS];
const MINUTE = 60;
const HOUR = 3600;
/** Steps for seconds: whole minutes and hours once past a minute. */
export const DURATION_STEPS = [1, 2, 5, 10, 15, 30, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE,
  30 * MINUTE, HOUR, ...WHOLE_STEPS.filter((x) => x >= 2).map((x) => x * HOUR)];

/** The tooltip at index i: "12 Mar: 42"; with two series "12 Mar: Median 1.2 s, p90 3 s"; null: nothing there. */
function tipText(u, i, formatX, formatY) {
  const values = u.series.slice(1).map((s, k) => [s.label, u.data[k + 1][i]]).filter(([, y]) => y != null);
  if (!values.length) return null;
  const text = u.series.length > 2 ? values.map(([name, y]) => `${name} ${formatY(y)}`).join(", ")
    : formatY(values[0][1]);
  return `${formatX(u.data[0][i])}: ${text}`;
}

function tooltipPlugin(formatX, formatY) {
  let tip;
  return {
    hooks: {
      init(u) {
        tip = h("div", { class: "chart-tip", "aria-hidden": "true", hidden: true });
        u.over.append(tip);
      },
      setCursor(u) {
        const i = u.cursor.idx;
        const text = i == null ? null : tipText(u, i, formatX, formatY);
        if (text == null) {
          tip.hidden = true;
          return;
        }
        tip.hidden = false;
        tip.textContent = text;
        const left = Math.min(u.cursor.left + 12, u.over.clientWidth - tip.offsetWidth - 4);
        tip.style.left = `${Math.max(0, left)}px`;
        tip.style.top = `${Math.max(0, u.cursor.top - 36)}px`;
      },
    },
  };
}

/** Mark one point with a dot and a label ("Peak: 42"). */
function markerPlugin(marker) {
  return {
    hooks: {
      draw(u) {
        if (!marker) return;
        const ctx = u.ctx;
        const x = u.valToPos(marker.x, "x", true);
        const y = u.valToPos(marker.y, "y", true);
        const r = 5 * devicePixelRatio;
        ctx.save();
        ctx.strokeStyle = PEAK;
        ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = PEAK;
        ctx.beginPath();
        ctx.arc(x, y, r, 0, 2 * Math.PI);
        ctx.fill();
        ctx.font = `600 ${12 * devicePixelRatio}px system-ui, sans-serif`;
        ctx.textAlign = "left";
        ctx.textBaseline = "bottom";
        const text = marker.label;
        const width = ctx.measureText(text).width;
        const tx = Math.min(x + 8 * devicePixelRatio, u.bbox.left + u.bbox.width - width);
        ctx.fillText(text, tx, Math.max(y - 10 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio));
        ctx.restore();
      },
    },
  };
}

/** Time axis labels in the chosen zone, en-GB style: "14:00", "12 Mar", "Mar 2024". */
function timeAxisValues(tz) {
  const make = (o) => new Intl.DateTimeFormat("en-GB", { timeZone: tz || undefined, ...o });
  const hm = make({ hour: "2-digit", minute: "2-digit" });
  const dm = make({ day: "numeric", month: "short" });
  const my = make({ month: "short", year: "numeric" });
  const y = make({ year: "numeric" });
  return (u, splits, axis, space, incr) => splits.map((s, i) => {
    const d = new Date(s * 1000);
    if (incr < 86400) {
      const day = dm.format(d);
      return i === 0 || day !== dm.format(new Date(splits[i - 1] * 1000)) ? `${hm.format(d)}\n${day}` : hm.format(d);
    }
    if (incr < 28 * 86400) return dm.format(d);
    if (incr < 365 * 86400) return my.format(d);
    return y.format(d);
  });
}

/** Indices of values with a gap (or the end) on both sides: a line cannot show them, a dot does. */
function lonePoints(u, k, shown) {
  if (shown) return null;
  const ys = u.data[k];
  const out = ys.flatMap((y, i) => (y != null && ys[i - 1] == null && ys[i + 1] == null ? [i] : []));
  return out.length ? out : null;
}

/** A series' uPlot options: bars (side by side when two: the first left of its x, the second right) or a line. */
function seriesOptions(uPlot, { label, style, bars, stepped, count, k, dots }) {
  const paths = bars ? uPlot.paths.bars({ size: [0.6 / count, 56 / count], align: count === 1 ? 0 : k === 0 ? -1 : 1 })
    : stepped ? uPlot.paths.stepped({ align: 1 }) : null;
  return {
    label, stroke: style.stroke, width: bars ? 0 : 2, fill: bars ? style.fill : style.area,
    ...(bars || !style.dash ? {} : { dash: style.dash }),
    points: { show: !bars && dots, size: 5, fill: style.stroke, filter: bars ? null : lonePoints },
    ...(paths ? { paths } : {}),
  };
}

/**
 * A chart of one series (xs, ys, label) or of up to two (`series`: [{label, ys}], `label` then
 * names the whole chart). xs: numbers (unix seconds when time), ys: numbers (null: no value, a gap).
 * Returns {el, destroy()}; the element sizes itself to its container. `bars` draws bars
 * (a few buckets: a line between two points reads as a trend); `x` overrides the x axis
 * and scale ({axis, range}) for bucketed series; `yTop`: the y scale reaches at least this.
 * `exposeData` writes the drawn data to the element (data-values, JSON [xs, ys…]) for tests and reading.
 */
export function lineChart({ xs, ys, label, series = [{ label, ys }], time = true, tz, formatX, formatY, marker,
  height = 260, stepped = false, width = 600, yIncrs = WHOLE_STEPS, yTop = 4, bars = false, x = null,
  exposeData = false }) {
  const el = h("div", { class: "chart", role: "img", "aria-label": label, dataset: { kind: bars ? "bars" : "line" } });
  const { uPlot } = window;
  if (!uPlot) return { el, destroy() {} };
  const xAxis = { stroke: INK, grid: { stroke: GRID }, ticks: { stroke: GRID },
    values: time ? timeAxisValues(tz) : (u, vals) => vals.map(formatX), ...(x?.axis ?? {}) };
  const opts = {
    width,
    height,
    legend: { show: false },
    cursor: { points: { size: 8, fill: ACCENT }, drag: { x: false, y: false } },
    scales: { x: { time, ...(x?.range ? { range: x.range } : {}) },
      y: { range: (u, min, max) => [0, max > 0 ? Math.max(max * 1.1, yTop) : yTop] } },
    axes: [
      xAxis,
      { stroke: INK, grid: { stroke: GRID }, ticks: { show: false }, size: 64, incrs: yIncrs,
        values: (u, vals) => vals.map(formatY) },
    ],
    series: [{}, ...series.map((s, k) => seriesOptions(uPlot, { label: s.label, style: SERIES_STYLES[k], bars, stepped,
      count: series.length, k, dots: xs.length <= 48 }))],
    plugins: [tooltipPlugin(formatX, formatY), markerPlugin(marker)],
  };
  if (time && tz) opts.tzDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), tz);
  const chart = new uPlot(opts, [xs, ...series.map((s) => s.ys)], el);
  if (exposeData) el.dataset.values = JSON.stringify(chart.data);
  const resize = () => {
    const width = el.clientWidth;
    if (width > 0 && width !== chart.width) chart.setSize({ width, height });
  };
  const observer = new ResizeObserver(resize);
  observer.observe(el);
  return {
    el,
    destroy() {
      observer.disconnect();
      chart.destroy();
    },
  };
}

/** Nominal bucket lengths, seconds (a month's is only for padding the x range). */
const BUCKET_SECONDS = { hour: HOUR, day: 86400, week: 7 * 86400, month: 30 * 86400 };
/** At most this many buckets are drawn as bars; more as a line. */
export const BAR_BUCKETS = 14;
const TICK_GAP = 72; // CSS px between two x labels at least

/** A bucket's name in a tooltip or a table: "5 Jan, 14:00", "5 Jan 2026", "Week of 5 Jan 2026", "Jan 2026". */
export function bucketTitle(group, tz) {
  const options = {
    hour: { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" },
    day: { day: "numeric", month: "short", year: "numeric" },
    week: { day: "numeric", month: "short", year: "numeric" },
    month: { month: "short", year: "numeric" },
  }[group];
  const fmt = new Intl.DateTimeFormat("en-GB", { timeZone: tz || undefined, ...options });
  return (seconds) => `${group === "week" ? "Week of " : ""}${fmt.format(new Date(seconds * 1000))}`;
}

/** Labels of bucket starts in the zone, by interval: "14:00", "12 Mar", "Mar 2024". */
function bucketLabels(group, tz) {
  const make = (o) => new Intl.DateTimeFormat("en-GB", { timeZone: tz || undefined, ...o });
  const hm = make({ hour: "2-digit", minute: "2-digit" });
  const dm = make({ day: "numeric", month: "short" });
  const my = make({ month: "short", year: "numeric" });
  return (u, splits) => splits.map((s, i) => {
    const d = new Date(s * 1000);
    if (group === "hour") {
      const day = dm.format(d);
      return i === 0 || day !== dm.format(new Date(splits[i - 1] * 1000)) ? `${hm.format(d)}\n${day}` : hm.format(d);
    }
    return group === "month" ? my.format(d) : dm.format(d);
  });
}

/**
 * A timeline of buckets (hour, day, week or month starts in xs): x ticks only on bucket
 * starts (every k-th, so labels do not collide), labelled for the interval; bars when
 * there are few buckets, a line otherwise.
 */
export function bucketChart({ xs, ys, group, tz, ...rest }) {
  const bars = xs.length <= BAR_BUCKETS;
  const half = (xs.length > 1 ? Math.min(...xs.slice(1).map((v, i) => v - xs[i])) : BUCKET_SECONDS[group]) / 2;
  const splits = (u) => {
    const room = Math.max(1, Math.floor(u.bbox.width / (window.uPlot?.pxRatio || 1) / TICK_GAP));
    const k = Math.max(1, Math.ceil(xs.length / room));
    return xs.filter((_, i) => i % k === 0);
  };
  const labels = bucketLabels(group, tz);
  // The drawn tick labels also go to the element (data-ticks), for tests and for reading.
  const values = (u, vals) => {
    const out = labels(u, vals);
    if (u.root.parentElement) u.root.parentElement.dataset.ticks = out.join("|").replaceAll("\n", " ");
    return out;
  };
  const x = { axis: { splits, values } };
  if (bars || xs.length < 2) x.range = () => [xs[0] - half, xs[xs.length - 1] + half];
  return lineChart({ xs, ys, tz, bars, x, ...rest });
}

/** The key to a chart of several series: a swatch (its colour, and its dash) and a name each. */
export function legend(labels) {
  return h("ul", { class: "chart-legend" }, labels.map((name, k) => {
    const swatch = h("span", { class: "legend-swatch", "aria-hidden": "true" });
    swatch.style.background = SERIES_STYLES[k].stroke; // CSSOM: the CSP allows no style attribute
    return h("li", {}, swatch, name);
  }));
}

/** The chart's numbers as a table, folded away in a <details>. */
export function dataTable(summary, headers, rows) {
  return h("details", { class: "data-table" },
    h("summary", {}, summary),
    scrollBox(
      h("table", { class: "table table-compact" },
        h("thead", {}, h("tr", {}, headers.map((t, i) => h("th", { scope: "col", class: i ? "num" : null }, t)))),
        h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) =>
          h(i ? "td" : "th", { scope: i ? null : "row", class: i ? "num" : null }, c))))))));
}
