// The workspace's top 25 videos and the audience breakdowns (countries with a map,
// platforms, operating systems, browsers), each a section of the analytics pages.

import { get, rows } from "../api.js";
import { card, message, table, tabs } from "../components.js";
import { h, replace } from "../dom.js";
import { countryName, fmtDuration, fmtInt, fmtPercent } from "../format.js";
import { loadShapes, worldMap } from "../map.js";
import { filters, href, patch, shared as sharedOf } from "../route.js";
import { periodParams } from "../period.js";

const BREAKDOWNS = [
  ["country", "Countries", "Country"],
  ["platform", "Platforms", "Platform"],
  ["os", "Operating systems", "Operating system"],
  ["browser", "Browsers", "Browser"],
];
const PLATFORM = { desktop: "Desktop", tablet: "Tablet", smartphone: "Smartphone", tv: "TV", other: "Other" };

function breakdownOf(route) {
  const b = route.params.get("breakdown");
  return BREAKDOWNS.some(([k]) => k === b) ? b : "country";
}

export function topVideosSection() {
  const slot = h("div", { class: "slot" });
  const el = card("Top 25 videos", slot);
  el.classList.add("card-top");
  const piece = {
    name: "top", slot,
    key: (route) => JSON.stringify(filters(route)),
    async run(route, signal) {
      const payload = await get("/v1/analytics", {
        ...periodParams(filters(route)), group_by: "video_id", order: "views.desc", per_page: 25,
      }, signal);
      const data = rows(payload);
      const keep = sharedOf(route);
      if (!data.length) {
        replace(slot, message("info", "No videos were watched in this period."));
        return;
      }
      replace(slot, table([
        { key: "rank", label: "#", render: (r, i) => String(i + 1) },
        { key: "title", label: "Video",
          render: (r) => h("a", { href: href("video", r.video_id, keep) }, r.title || r.video_id) },
        { key: "views", label: "Views", num: true, render: (r) => fmtInt(r.views) },
        { key: "player_loads", label: "Player loads", num: true, render: (r) => fmtInt(r.player_loads) },
        { key: "view_rate", label: "View rate", num: true, render: (r) => fmtPercent(r.view_rate) },
        { key: "watch_time", label: "Watch time", num: true, render: (r) => fmtDuration(r.watch_time) },
        { key: "watch_depth", label: "Watch depth", num: true, render: (r) => fmtPercent(r.watch_depth) },
      ], data, { caption: "Top 25 videos by views", rowKey: (r) => r.video_id, className: "table-top" }));
    },
  };
  return { el, pieces: [piece] };
}

function labelOf(group, row) {
  const value = row[group];
  if (group === "country") return countryName(value, row.name);
  if (value == null || value === "") return "Unknown";
  return group === "platform" ? PLATFORM[value] ?? value : value;
}

/** Countries / platforms / OS / browsers, as tabs; the tab is in the URL (breakdown=). */
export function audienceSection(contentOf = () => ({})) {
  const { list, panel } = tabs("Audience breakdown", BREAKDOWNS, "country",
    (key) => patch({ breakdown: key }, { replace: false }));
  const el = card("Audience", list, panel);
  el.classList.add("card-audience");
  const sync = (route) => {
    const selected = breakdownOf(route);
    for (const tab of list.querySelectorAll('[role="tab"]')) {
      const on = tab.dataset.key === selected;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      if (on) panel.setAttribute("aria-labelledby", tab.id);
    }
  };
  const piece = {
    name: "audience", slot: panel,
    key: (route) => JSON.stringify([filters(route), breakdownOf(route), contentOf(route)]),
    async run(route, signal) {
      const group = breakdownOf(route);
      if (group === "country") loadShapes().catch(() => {});
      const payload = await get("/v1/analytics", {
        ...periodParams(filters(route)), ...contentOf(route), group_by: group, order: "views.desc", per_page: 250,
      }, signal);
      const data = rows(payload);
      const [, label, column] = BREAKDOWNS.find(([k]) => k === group);
      if (!data.length) {
        replace(panel, message("info", `No ${label.toLowerCase()} to show for this period.`));
        return;
      }
      const max = Math.max(1, ...data.map((r) => Number(r.views) || 0));
      const content = [table([
        { key: group, label: column,
          render: (r) => h("span", { class: "bar-cell" }, h("span", { class: "bar", "aria-hidden": "true",
            dataset: { share: (Number(r.views) || 0) / max } }), h("span", { class: "bar-label" }, labelOf(group, r))) },
        { key: "views", label: "Views", num: true, render: (r) => fmtInt(r.views) },
        { key: "player_loads", label: "Player loads", num: true, render: (r) => fmtInt(r.player_loads) },
        { key: "view_rate", label: "View rate", num: true, render: (r) => fmtPercent(r.view_rate) },
        { key: "watch_time", label: "Watch time", num: true, render: (r) => fmtDuration(r.watch_time) },
      ], data, { caption: `${label} by views`, rowKey: (r) => r[group] ?? "unknown", className: "table-breakdown" })];
      for (const bar of content[0].querySelectorAll(".bar")) bar.style.width = `${Math.round(bar.dataset.share * 100)}%`;
      if (group === "country") {
        try {
          replace(panel, h("div", { class: "split" }, await worldMap(data), content[0]));
          return;
        } catch (error) {
          console.warn("world map:", error);
        }
      }
      replace(panel, ...content);
    },
  };
  return { el, pieces: [piece], sync };
}
