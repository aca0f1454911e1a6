// #/viewer: the viewers (the embedding site's user ids, `external_id`) by watch time,
// paged and searchable; #/viewer?external_id=...: what one viewer watched, each video
// with watch time and depth, for the period.

import { get, rows } from "../api.js";
import { filterBar, message, pageHead, pager, table } from "../components.js";
import { h, replace } from "../dom.js";
import { fmtDuration, fmtInt, fmtPercent } from "../format.js";
import { periodParams } from "../period.js";
import { piecesRunner } from "../pieces.js";
import { filters, href, patch, shared } from "../route.js";

export const VIEWER_DEFAULT_PERIOD = "all_time";
export const VIEWERS_PER_PAGE = 25;
/** The list reads this many viewers (the API's largest page) and searches them here. */
const MOST_VIEWERS = 1000;

function meterCell(depth) {
  return h("span", { class: "depth" },
    h("span", { class: "meter", "aria-hidden": "true", dataset: { value: depth } }), fmtPercent(depth));
}

function fillMeters(slot) {
  for (const m of slot.querySelectorAll(".meter")) {
    m.style.setProperty("--fill", `${Math.min(100, Number(m.dataset.value) || 0)}%`);
  }
}

/** The viewers list: top by watch time, filtered by the search text, one page of it. */
async function drawList(slot, route, signal) {
  const f = filters(route, VIEWER_DEFAULT_PERIOD);
  const q = (route.params.get("q") || "").trim();
  const payload = await get("/v1/analytics", {
    ...periodParams(f), group_by: "external_id", order: "watch_time.desc", per_page: MOST_VIEWERS,
  }, signal);
  const all = rows(payload).filter((r) => r.external_id != null && r.external_id !== "");
  const needle = q.toLowerCase();
  const found = needle ? all.filter((r) => String(r.external_id).toLowerCase().includes(needle)) : all;
  if (!found.length) {
    replace(slot, q
      ? message("info", `No viewer’s ID contains “${q}” in this period.`,
        h("p", {}, "IDs are your site’s user ids or e-mails; try part of one, or a longer period."))
      : message("empty", "No viewers with an external ID in this period.",
        h("p", {}, "Send ", h("code", {}, "external_id"), " with your player's events (a user id or e-mail from ",
          "your site) to see how much of each video one person watched: for example, how far a student got ",
          "in each lesson.")));
    return;
  }
  const pages = Math.ceil(found.length / VIEWERS_PER_PAGE);
  const page = Math.min(Math.max(1, Number(route.params.get("page")) || 1), pages);
  const shown = found.slice((page - 1) * VIEWERS_PER_PAGE, page * VIEWERS_PER_PAGE);
  const keep = shared(route);
  const total = payload.meta?.pagination?.total;
  const capped = Number(total) > MOST_VIEWERS ? ` (the ${fmtInt(MOST_VIEWERS)} who watched most are listed)` : "";
  replace(slot,
    h("p", { class: "muted viewers-count" }, `${fmtInt(found.length)} ${found.length === 1 ? "viewer" : "viewers"}`,
      q ? ` matching “${q}”` : "", capped, ", by watch time."),
    table([
      { key: "external_id", label: "Viewer",
        render: (r) => h("a", { href: href("viewer", null, { ...keep, external_id: r.external_id }) }, r.external_id) },
      { key: "watch_time", label: "Watch time", num: true, render: (r) => fmtDuration(r.watch_time) },
      { key: "watch_depth", label: "Watch depth", num: true, render: (r) => meterCell(r.watch_depth) },
      { key: "views", label: "Views", num: true, render: (r) => fmtInt(r.views) },
      { key: "player_loads", label: "Player loads", num: true, render: (r) => fmtInt(r.player_loads) },
    ], shown, { caption: "Viewers by watch time", rowKey: (r) => r.external_id }),
    pager({ page, per_page: VIEWERS_PER_PAGE, total: found.length }, (p) => patch({ page: p })));
  fillMeters(slot);
}

/** One viewer's videos. */
async function drawViewer(slot, route, externalId, signal) {
  const payload = await get("/v1/analytics", {
    ...periodParams(filters(route, VIEWER_DEFAULT_PERIOD)), group_by: "external_id,video_id",
    external_id: externalId, order: "watch_time.desc", per_page: 1000,
  }, signal);
  const data = rows(payload).filter((r) => r.external_id == null || r.external_id === externalId);
  const back = h("p", { class: "crumbs" }, h("a", { href: href("viewer", null, shared(route)) }, "← All viewers"));
  if (!data.length) {
    replace(slot, back, message("info", `No plays by “${externalId}” in this period.`,
      h("p", {}, "Check the spelling (IDs are matched exactly) or choose a longer period.")));
    return;
  }
  const keep = shared(route);
  const total = data.reduce((s, r) => s + (Number(r.watch_time) || 0), 0);
  replace(slot, back,
    h("h2", {}, `${externalId}`),
    h("p", { class: "muted", dataset: { watchTime: total } },
      `${fmtInt(data.length)} ${data.length === 1 ? "video" : "videos"} · ${fmtDuration(total)} watched in all`),
    table([
      { key: "title", label: "Video",
        render: (r) => h("a", { href: href("video", r.video_id, keep) }, r.title || r.video_id) },
      { key: "watch_time", label: "Watch time", num: true, render: (r) => fmtDuration(r.watch_time) },
      { key: "watch_depth", label: "Watch depth", num: true, render: (r) => meterCell(r.watch_depth) },
      { key: "views", label: "Views", num: true, render: (r) => fmtInt(r.views) },
      { key: "player_loads", label: "Player loads", num: true, render: (r) => fmtInt(r.player_loads) },
    ], data, { caption: `Videos watched by ${externalId}`, rowKey: (r) => r.video_id }));
  fillMeters(slot);
}

export function createViewer(main) {
  const filterSlot = h("div", { class: "filter-slot" });
  const input = h("input", { type: "search", id: "viewer-q", name: "q", autocomplete: "off",
    placeholder: "e.g. student-4 or @example.com" });
  const form = h("form", { class: "search-form", role: "search", "aria-label": "Find a viewer" },
    h("div", { class: "field field-grow" }, h("label", { for: "viewer-q" }, "Find a viewer by external ID"), input),
    h("button", { type: "submit", class: "btn btn-primary" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    patch({ q: input.value.trim() || null, external_id: null, page: null });
  });
  const slot = h("div", { class: "slot" });
  replace(main,
    pageHead("Viewers",
      h("p", { class: "subtitle" }, "Who watched most, and for each viewer every video they watched, with watch time and depth.")),
    h("section", { class: "card", "aria-label": "Search" }, form), filterSlot,
    h("section", { class: "card", "aria-label": "Viewers" }, slot));

  const runner = piecesRunner([{
    name: "viewer", slot,
    key: (route) => JSON.stringify([filters(route, VIEWER_DEFAULT_PERIOD), route.params.get("external_id"),
      route.params.get("q"), route.params.get("page")]),
    async run(route, signal) {
      const externalId = route.params.get("external_id");
      if (externalId) await drawViewer(slot, route, externalId, signal);
      else await drawList(slot, route, signal);
    },
  }]);

  return {
    title: "Viewers",
    update(route) {
      input.value = route.params.get("q") || "";
      replace(filterSlot, filterBar(route, { defaultPeriod: VIEWER_DEFAULT_PERIOD }));
      return runner.update(route);
    },
    destroy() {
      runner.destroy();
    },
  };
}
