// Quality of experience (METRICS.md §7) on the analytics pages: the period's startup time
// (median, p90), rebuffering, failures and exits before start over time, and a breakdown by
// browser, OS, platform, country or page, worst first (highest rebuffer ratio, then failure
// rate), so "Safari on iOS in Brazil stalls" shows at a glance. Numbers come computed from
// /v1/analytics (fields=…); this module only lays them out.

import { get, rows } from "../api.js";
import { card, message, table, tabs } from "../components.js";
import { h, replace } from "../dom.js";
import { countryName, fmtInt } from "../format.js";
import { filters, patch } from "../route.js";
import { periodParams } from "../period.js";

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

/** The quality card of an analytics page; ``contentOf(route)``: the video/stream filter. */
export function qualitySection(contentOf = () => ({}), groupTime = () => "day") {
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
      const data = rows(await get("/v1/analytics", { ...params(route), group_by: "date", group_time: groupTime(route),
        order: "date.asc", per_page: 1000 }, signal));
      if (!data.some((r) => r.player_loads || r.startup_time != null || r.buffering_count)) {
        replace(overTime, message("info", "No quality events in this period (the tracker sends them since it measures them)."));
        return;
      }
      replace(overTime, table([{ key: "date", label: "Date", render: (r) => r.date.slice(0, 16).replace("T00:00", "") },
        ...COLUMNS], data, { caption: "Quality over time", rowKey: (r) => r.date, className: "table-quality-time" }));
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
