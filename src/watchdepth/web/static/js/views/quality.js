// Quality of experience (docs/metrics.md §7) on the analytics pages: the period's startup time
// (median, p90), rebuffer ratio, failures and exits before start over time as three small
// charts (the overview's timeline, one entry per bucket), and a breakdown by browser, OS,
// platform, country or page, worst first (highest rebuffer ratio, then failure rate), so
// "Safari on iOS in Brazil stalls" shows at a glance. Numbers come computed from the API
// (/v1/analytics/overview, /v1/analytics?fields=…); this module only lays them out.

import { get, rows } from "../api.js";
import { TENTH_STEPS, bucketChart, bucketTitle, legend } from "../chart.js";
import { card, message, table, tabs } from "../components.js";
import { h, replace } from "../dom.js";
import { countryName, fmtInt } from "../format.js";
import { describeRange, periodParams } from "../period.js";
import { filters, patch } from "../route.js";

const GROUPS = [
  ["browser", "Browsers", "Browser"],
  ["os", "Operating systems", "Operating system"],
  ["platform", "Platforms", "Platform"],
  ["country", "Countries", "Country"],
  ["page", "Pages", "Page"],
];
const FIELDS = ["player_loads", "startup_time", "startup_time_p90", "buffering_count", "buffering_time",
  "rebuffer_ratio", "playback_failures", "failure_rate", "exits_before_start"];

const seconds = (s) => (s == null ? "—" : `${Number(s).toFixed(2)} s`);
const ratio = (x) => `${Number(x || 0).toFixed(1)}%`;
const num = (v) => (v == null ? null : Number(v));
/** Did anything play in this bucket? If not, its rebuffer ratio is no number (the API's 0 is not "no stalls"). */
const played = (b) => Number(b.watch_time) > 0 || Number(b.buffering_time) > 0;
const hasQuality = (b) => b.player_loads || b.startup_time != null || b.buffering_count || b.playback_failures
  || b.exits_before_start;

/**
 * The charts over time: per bucket, what each series draws; null is a gap (nothing to
 * measure: no startups, nothing played), never a zero. Failures and exits before start are a
 * third chart, not a table: per-bucket counts over up to hundreds of buckets only fit a
 * phone's width as a chart, and their exact numbers are in the folded table below the charts.
 */
const OVER_TIME = [
  { name: "startup", title: "Startup time", unit: "seconds", yIncrs: TENTH_STEPS, yTop: 1,
    formatY: (v) => `${Number(v.toFixed(2))} s`,
    series: [["Median", (b) => num(b.startup_time)], ["p90", (b) => num(b.startup_time_p90)]] },
  { name: "rebuffer", title: "Rebuffer ratio", unit: "percent of playing time", yIncrs: TENTH_STEPS, yTop: 1,
    note: "Share of playing time spent stalled",
    formatY: (v) => `${Number(v.toFixed(1))}%`,
    series: [["Rebuffer ratio", (b) => (played(b) ? num(b.rebuffer_ratio) : null)]] },
  { name: "failures", title: "Failures and exits before start", unit: "player loads",
    formatY: (v) => fmtInt(v),
    series: [["Failures", (b) => num(b.playback_failures)], ["Exits before start", (b) => num(b.exits_before_start)]] },
];

/** The columns every quality table shows after its first one. */
const COLUMNS = [
  { key: "player_loads", label: "Player loads", num: true, render: (r) => fmtInt(r.player_loads) },
  { key: "startup_time", label: "Startup (median)", num: true, render: (r) => seconds(r.startup_time) },
  { key: "startup_time_p90", label: "Startup (p90)", num: true, render: (r) => seconds(r.startup_time_p90) },
  { key: "rebuffer_ratio", label: "Rebuffer ratio", num: true, render: (r) => ratio(r.rebuffer_ratio) },
  { key: "buffering_count", label: "Stalls", num: true, render: (r) => fmtInt(r.buffering_count) },
  { key: "playback_failures", label: "Failures", num: true,
    render: (r) => `${fmtInt(r.playback_failures)} (${ratio(r.failure_rate)})` },
  { key: "exits_before_start", label: "Exits before start", num: true, render: (r) => fmtInt(r.exits_before_start) },
];

function groupOf(route) {
  const g = route.params.get("quality_by");
  return GROUPS.some(([k]) => k === g) ? g : "browser";
}

function label(group, row) {
  const v = row[group];
  if (group === "country") return countryName(v, v);
  return v == null || v === "" ? "Unknown" : String(v);
}

/** One small chart of OVER_TIME, its heading and its key (two series) or note, in `slot`. */
function smallChart(slot, spec, buckets, { group, tz, period }) {
  const xs = buckets.map((b) => Date.parse(b.date) / 1000);
  const series = spec.series.map(([label, value]) => ({ label, ys: buckets.map(value) }));
  const two = series.length > 1;
  const what = [two ? spec.series.map(([label]) => label.toLowerCase()).join(" and ") : null, spec.unit];
  const label = [`${spec.title} per ${group} (${what.filter(Boolean).join(", ")})`, period].filter(Boolean).join(", ");
  const chart = bucketChart({ xs, series, group, tz, label, height: 180, width: slot.clientWidth || 300,
    formatX: bucketTitle(group, tz), formatY: spec.formatY, yTop: spec.yTop ?? 4, exposeData: true,
    ...(spec.yIncrs ? { yIncrs: spec.yIncrs } : {}) });
  chart.el.dataset.quality = spec.name;
  const key = two ? legend(series.map((x) => x.label)) : h("p", { class: "chart-note" }, spec.note);
  replace(slot, h("h3", {}, spec.title), key, chart.el);
  return chart;
}

/** The charts over time and their numbers (the buckets with anything to show) in a folded table. */
function drawOverTime(slot, buckets, context) {
  const figures = OVER_TIME.map(() => h("div", { class: "quality-chart" }));
  const title = bucketTitle(context.group, context.tz);
  const when = { key: "date", label: context.group[0].toUpperCase() + context.group.slice(1),
    render: (r) => title(Date.parse(r.date) / 1000) };
  const numbers = h("details", { class: "data-table" }, h("summary", {}, "Show the numbers"),
    table([when, ...COLUMNS], buckets.filter(hasQuality),
      { caption: "Quality over time", rowKey: (r) => r.date, className: "table-quality-time" }));
  replace(slot, h("div", { class: "quality-charts" }, figures), numbers);
  const charts = OVER_TIME.map((spec, i) => smallChart(figures[i], spec, buckets, context));
  return { destroy: () => charts.forEach((c) => c.destroy()) };
}

/**
 * The quality card of an analytics page; ``contentOf(route)``: the video/stream filter;
 * ``charts``: the page's charts, destroyed with it.
 */
export function qualitySection(contentOf = () => ({}), groupTime = () => "day", charts = {}) {
  const overTime = h("div", { class: "slot" });
  const { list, panel } = tabs("Quality breakdown", GROUPS, "browser",
    (key) => patch({ quality_by: key }, { replace: false }));
  const el = card("Quality of experience", overTime, list, panel);
  el.classList.add("card-quality");
  const params = (route) => ({ ...periodParams(filters(route)), ...contentOf(route), fields: FIELDS.join(",") });
  const sync = (route) => {
    const selected = groupOf(route);
    for (const tab of list.querySelectorAll('[role="tab"]')) {
      const on = tab.dataset.key === selected;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      if (on) panel.setAttribute("aria-labelledby", tab.id);
    }
  };
  const timeline = {
    name: "quality-time", slot: overTime,
    key: (route) => JSON.stringify([filters(route), contentOf(route), groupTime(route)]),
    async run(route, signal) {
      const f = filters(route);
      const group = groupTime(route);
      const answer = await get("/v1/analytics/overview", { ...periodParams(f), ...contentOf(route), group_time: group,
        parts: "timeline" }, signal);
      const now = Date.now();
      // Up to now: a period that runs to now has its later buckets in the answer, empty.
      const buckets = (answer.data?.timeline ?? []).filter((b) => Date.parse(b.date) <= now);
      charts.quality?.destroy();
      charts.quality = null;
      if (!buckets.some(hasQuality)) {
        replace(overTime,
          message("info", "No quality events in this period (the tracker sends them since it measures them)."));
        return;
      }
      const time = answer.meta?.time ?? {};
      const tz = f.tz || time.timezone || "UTC";
      const range = time.from && time.to ? [Date.parse(time.from), Math.min(Date.parse(time.to), now)] : null;
      const period = range ? describeRange(range, tz) : "";
      charts.quality = drawOverTime(overTime, buckets, { group, tz, period });
    },
  };
  const breakdown = {
    name: "quality", slot: panel,
    key: (route) => JSON.stringify([filters(route), contentOf(route), groupOf(route)]),
    async run(route, signal) {
      const group = groupOf(route);
      const data = rows(await get("/v1/analytics", { ...params(route), group_by: group,
        order: "rebuffer_ratio.desc,failure_rate.desc,player_loads.desc", per_page: 100 }, signal));
      const [, title, column] = GROUPS.find(([k]) => k === group);
      if (!data.length) {
        replace(panel, message("info", `No ${title.toLowerCase()} to show for this period.`));
        return;
      }
      replace(panel, table([{ key: group, label: column, render: (r) => label(group, r) }, ...COLUMNS], data,
        { caption: `${title}, worst first`, rowKey: (r) => r[group] ?? "unknown", className: "table-quality" }));
    },
  };
  return { el, pieces: [timeline, breakdown], sync };
}
