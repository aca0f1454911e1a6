// Charts, drawn by the vendored uPlot (window.uPlot, loaded by the shell). Each chart
// is paired with a data table in a <details>, so the numbers are readable without the
// canvas (screen readers, copy and paste, tests).

import { h, scrollBox } from "./dom.js";

const INK = "#4b5563";
const GRID = "#eceef2";
const ACCENT = "#4f46e5";
const PEAK = "#b45309";
// Every metric is a whole number (counts, seconds, percent): ticks at whole steps only.
const WHOLE_STEPS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9].map((p) => m * p))
  .sort((a, b) => a - b);
const MINUTE = 60;
const HOUR = 3600;
/** Steps for seconds: whole minutes and hours once past a minute. */
export const DURATION_STEPS = [1, 2, 5, 10, 15, 30, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE,
  30 * MINUTE, HOUR, ...WHOLE_STEPS.filter((x) => x >= 2).map((x) => x * HOUR)];

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
        if (i == null || u.data[1][i] == null) {
          tip.hidden = true;
          return;
        }
        tip.hidden = false;
        tip.textContent = `${formatX(u.data[0][i])}: ${formatY(u.data[1][i])}`;
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

/**
 * A one-series chart. xs: numbers (unix seconds when time), ys: numbers (null: no value).
 * Returns {el, destroy()}; the element sizes itself to its container. `bars` draws bars
 * (a few buckets: a line between two points reads as a trend); `x` overrides the x axis
 * and scale ({axis, range}) for bucketed series.
 */
export function lineChart({ xs, ys, label, time = true, tz, formatX, formatY, marker, height = 260, stepped = false,
  width = 600, yIncrs = WHOLE_STEPS, bars = false, x = null }) {
  const el = h("div", { class: "chart", role: "img", "aria-label": label, dataset: { kind: bars ? "bars" : "line" } });
  const { uPlot } = window;
  if (!uPlot) return { el, destroy() {} };
  const xAxis = { stroke: INK, grid: { stroke: GRID }, ticks: { stroke: GRID },
    values: time ? timeAxisValues(tz) : (u, vals) => vals.map(formatX), ...(x?.axis ?? {}) };
  const paths = bars ? uPlot.paths.bars({ size: [0.6, 56], align: 0 }) : stepped ? uPlot.paths.stepped({ align: 1 }) : null;
  const opts = {
    width,
    height,
    legend: { show: false },
    cursor: { points: { size: 8, fill: ACCENT }, drag: { x: false, y: false } },
    scales: { x: { time, ...(x?.range ? { range: x.range } : {}) },
      y: { range: (u, min, max) => [0, max > 0 ? Math.max(max * 1.1, 4) : 4] } },
    axes: [
      xAxis,
      { stroke: INK, grid: { stroke: GRID }, ticks: { show: false }, size: 64, incrs: yIncrs,
        values: (u, vals) => vals.map(formatY) },
    ],
    series: [{}, {
      label, stroke: ACCENT, width: bars ? 0 : 2, fill: bars ? "rgba(79, 70, 229, 0.75)" : "rgba(79, 70, 229, 0.10)",
      points: { show: !bars && xs.length <= 48, size: 5, fill: ACCENT },
      ...(paths ? { paths } : {}),
    }],
    plugins: [tooltipPlugin(formatX, formatY), markerPlugin(marker)],
  };
  if (time && tz) opts.tzDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), tz);
  const chart = new uPlot(opts, [xs, ys], el);
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
