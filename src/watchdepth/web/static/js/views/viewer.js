// #/viewer?external_id=...: what one viewer (the embedding site's user id) watched:
// each video with watch time and depth, for the period.

import { get, rows } from "../api.js";
import { filterBar, message, pageHead, table } from "../components.js";
import { h, replace } from "../dom.js";
import { fmtDuration, fmtInt, fmtPercent } from "../format.js";
import { periodParams } from "../period.js";
import { piecesRunner } from "../pieces.js";
import { filters, href, patch, shared } from "../route.js";

export const VIEWER_DEFAULT_PERIOD = "all_time";

export function createViewer(main) {
  const filterSlot = h("div", { class: "filter-slot" });
  const input = h("input", { type: "search", id: "viewer-id", name: "external_id", autocomplete: "off",
    placeholder: "e.g. student-42 or ada@example.com", required: true });
  const form = h("form", { class: "search-form", role: "search", "aria-label": "Find a viewer" },
    h("div", { class: "field field-grow" }, h("label", { for: "viewer-id" }, "Viewer's external ID"), input),
    h("button", { type: "submit", class: "btn btn-primary" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    patch({ external_id: input.value.trim() || null });
  });
  const slot = h("div", { class: "slot" });
  replace(main,
    pageHead("Viewers",
      h("p", { class: "subtitle" }, "Per-viewer report: every video one person watched, with watch time and depth.")),
    h("section", { class: "card", "aria-label": "Search" }, form), filterSlot,
    h("section", { class: "card", "aria-label": "Viewer's videos" }, slot));

  const runner = piecesRunner([{
    name: "viewer", slot,
    key: (route) => JSON.stringify([filters(route, VIEWER_DEFAULT_PERIOD), route.params.get("external_id")]),
    async run(route, signal) {
      const externalId = route.params.get("external_id");
      if (!externalId) {
        replace(slot, message("empty", "Search for a viewer by their external ID.",
          h("p", {}, "Send ", h("code", {}, "external_id"), " with your player's events (a user id or e-mail from ",
            "your site) to see how much of each video one person watched: for example, how far a student got ",
            "in each lesson.")));
        return;
      }
      const payload = await get("/v1/analytics", {
        ...periodParams(filters(route, VIEWER_DEFAULT_PERIOD)), group_by: "external_id,video_id",
        external_id: externalId, order: "watch_time.desc", per_page: 1000,
      }, signal);
      const data = rows(payload).filter((r) => r.external_id == null || r.external_id === externalId);
      if (!data.length) {
        replace(slot, message("info", `No plays by “${externalId}” in this period.`,
          h("p", {}, "Check the spelling (IDs are matched exactly) or choose a longer period.")));
        return;
      }
      const keep = shared(route);
      const total = data.reduce((s, r) => s + (Number(r.watch_time) || 0), 0);
      replace(slot,
        h("h2", {}, `${externalId}`),
        h("p", { class: "muted", dataset: { watchTime: total } },
          `${fmtInt(data.length)} ${data.length === 1 ? "video" : "videos"} · ${fmtDuration(total)} watched in all`),
        table([
          { key: "title", label: "Video",
            render: (r) => h("a", { href: href("video", r.video_id, keep) }, r.title || r.video_id) },
          { key: "watch_time", label: "Watch time", num: true, render: (r) => fmtDuration(r.watch_time) },
          { key: "watch_depth", label: "Watch depth", num: true, render: (r) => h("span", { class: "depth" },
            h("span", { class: "meter", "aria-hidden": "true", dataset: { value: r.watch_depth } }),
            fmtPercent(r.watch_depth)) },
          { key: "views", label: "Views", num: true, render: (r) => fmtInt(r.views) },
          { key: "player_loads", label: "Player loads", num: true, render: (r) => fmtInt(r.player_loads) },
        ], data, { caption: `Videos watched by ${externalId}`, rowKey: (r) => r.video_id }));
      for (const m of slot.querySelectorAll(".meter")) {
        m.style.setProperty("--fill", `${Math.min(100, Number(m.dataset.value) || 0)}%`);
      }
    },
  }]);

  return {
    title: "Viewers",
    update(route) {
      input.value = route.params.get("external_id") || "";
      replace(filterSlot, filterBar(route, { defaultPeriod: VIEWER_DEFAULT_PERIOD }));
      return runner.update(route);
    },
    destroy() {
      runner.destroy();
    },
  };
}
