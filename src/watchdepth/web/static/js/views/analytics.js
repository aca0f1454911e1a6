// The analytics pages: the workspace overview (#/overview), one video (#/video/ID) and
// one stream (#/stream/ID). Cards with the change against the previous period, the
// timeline with its metric and interval switches, then the page's own sections
// (top videos, audience breakdowns, retention, concurrent viewers).

import { get } from "../api.js";
import { DURATION_STEPS, bucketChart, bucketTitle, dataTable } from "../chart.js";
import { filterBar, message, metricCards } from "../components.js";
import { h, nextId, replace } from "../dom.js";
import { METRIC, TIMELINE_METRICS, fmtInt, fmtMetric } from "../format.js";
import {
  GROUP_TIMES, PERIOD_LABEL, agrees, defaultGroupTime, describeRange, periodParams,
  previousFromServer, rangeParams, ranges,
} from "../period.js";
import { piecesRunner } from "../pieces.js";
import { filters, href, parse, patch, shared } from "../route.js";
import { audienceSection, topVideosSection } from "./breakdowns.js";
import { concurrencySection, emptyState, retentionSection } from "./content.js";
import { qualitySection } from "./quality.js";

let workspaceZone = "";

export function groupTime(route) {
  const f = filters(route);
  const chosen = route.params.get("group_time");
  return GROUP_TIMES.some(([g]) => g === chosen) ? chosen : defaultGroupTime(f.period, f.from, f.to);
}

function chartMetric(route, omit = []) {
  const m = route.params.get("metric");
  return TIMELINE_METRICS.some((x) => x.key === m) && !omit.includes(m) ? m : "views";
}

/**
 * The content filter of a page: a video by `video_id`; a stream by `stream_id` (which
 * brings its broadcast events), or one broadcast by `event_id` when one is chosen.
 */
export function contentParams(route, kind, id) {
  if (kind === "video") return { video_id: id };
  if (kind === "stream") {
    const eventId = route.params.get("event_id");
    return eventId ? { event_id: eventId } : { stream_id: id };
  }
  return {};
}

/** API filters of this page: the period, plus the content item on a video/stream page. */
export function baseParams(route, kind, id) {
  return { ...periodParams(filters(route)), ...contentParams(route, kind, id) };
}

async function fetchOverview(route, kind, id, signal) {
  const f = filters(route);
  const tz = f.tz || workspaceZone;
  const now = Date.now();
  const computed = ranges(f.period, tz, now, f.from, f.to);
  const extra = { group_time: groupTime(route), ...contentParams(route, kind, id) };
  const path = "/v1/analytics/overview";
  // A failed comparison leaves the cards without their change; it never hides the numbers.
  // Only its totals are used, so only they are asked for (ext `parts`). The page draws the
  // cards and the timeline, never the overview's top lists (breakdowns ask their own).
  const previousOf = (range) => (range
    ? get(path, { ...rangeParams(range, f.tz), ...extra, group_time: "month", parts: "total" }, signal)
      .then((r) => r.data?.total ?? null, () => null)
    : Promise.resolve(null));
  const currentP = get(path, { ...baseParams(route, kind, id), ...extra, parts: "total,timeline" }, signal);
  let previousP = previousOf(computed.previous);
  const current = await currentP;
  const meta = current.meta?.time ?? {};
  if (meta.timezone && !f.tz) workspaceZone = meta.timezone;
  let range = computed.current;
  if (computed.previous && !agrees(meta, computed.current, computed.toDate)) {
    previousP = previousOf(previousFromServer(meta, now));
    range = [Date.parse(meta.from), Math.min(Date.parse(meta.to), now)];
  }
  // The server's period, up to now: "this month" is drawn and described to today, not to its last day.
  const serverRange = meta.from && meta.to ? [Date.parse(meta.from), Math.min(Date.parse(meta.to), now)] : range;
  return { current, previous: await previousP, range: serverRange, tz: meta.timezone || tz || "UTC" };
}

function metricSwitch(onPick, omit) {
  const name = nextId("metric");
  const legendId = nextId("legend");
  const radios = TIMELINE_METRICS.filter((m) => !omit.includes(m.key)).map((m) => {
    const id = `${name}-${m.key}`;
    return h("span", { class: "segment" },
      h("input", { type: "radio", name, id, value: m.key, onchange: () => onPick(m.key) }),
      h("label", { for: id }, m.label));
  });
  const group = h("fieldset", { class: "segmented", "aria-labelledby": legendId },
    h("legend", { id: legendId, class: "sr-only" }, "Chart metric"), radios);
  return {
    el: group,
    sync(metric) {
      for (const input of group.querySelectorAll("input")) input.checked = input.value === metric;
    },
  };
}

function intervalSelect(onPick) {
  const id = nextId("interval");
  const sel = h("select", { id, onchange: (e) => onPick(e.target.value) },
    GROUP_TIMES.map(([v, label]) => h("option", { value: v }, label)));
  return { el: h("div", { class: "field field-inline" }, h("label", { for: id }, "Interval"), sel),
    sync(value) { sel.value = value; } };
}

/**
 * The timeline's buckets up to now: a period that runs to now ("this month") has its
 * later buckets in the answer as zeros, which would read as a fall to nothing.
 */
export function elapsedBuckets(timeline, now = Date.now()) {
  return timeline.filter((p) => Date.parse(p.date) <= now);
}

function drawTimeline(slot, tableSlot, headingEl, data, metric, group, charts) {
  const timeline = elapsedBuckets(data.current.data?.timeline ?? []);
  const meta = METRIC[metric];
  const formatX = bucketTitle(group, data.tz);
  const formatY = (v) => (v == null ? "–" : fmtMetric(metric, v));
  const xs = timeline.map((p) => Date.parse(p.date) / 1000);
  const ys = timeline.map((p) => (p[metric] == null ? null : Number(p[metric])));
  const per = { hour: "hour", day: "day", week: "week", month: "month" }[group];
  const label = `${meta.label} per ${per}`;
  headingEl.textContent = label;
  charts.timeline?.destroy();
  charts.timeline = null;
  if (!xs.length || ys.every((y) => y == null)) {
    replace(slot, message("info", xs.length ? `This server does not report ${meta.label.toLowerCase()} per ${per}.`
      : "Nothing to draw yet: this period has not started."));
    replace(tableSlot);
    return;
  }
  charts.timeline = bucketChart({ xs, ys, group, label: `${label}, ${describeRange(data.range, data.tz)}`,
    tz: data.tz, formatX, formatY, width: slot.clientWidth || 600,
    ...(meta.kind === "duration" ? { yIncrs: DURATION_STEPS } : {}) });
  replace(slot, charts.timeline.el);
  replace(tableSlot, dataTable("Show the numbers", [per[0].toUpperCase() + per.slice(1), meta.label],
    timeline.map((p, i) => [formatX(xs[i]), formatY(ys[i])])));
}

/**
 * GET the video or stream; a "video" id that is a stream moves to the stream's page. An id
 * that is neither may be a broadcast (the top and live lists carry content ids): it is one
 * when the overview knows it. Otherwise it is {kind: "missing"}.
 */
async function lookUp(kind, id) {
  const path = (k) => `/v1/${k}s/${encodeURIComponent(id)}`;
  try {
    return { kind, ...((await get(path(kind))).data ?? {}) };
  } catch (error) {
    if (error.status !== 404) return null;
    if (kind !== "video") return { kind: "missing" };
  }
  try {
    const stream = (await get(path("stream"))).data ?? {};
    const route = parse();
    location.replace(href("stream", id, route.params));
    return { kind: "stream", ...stream };
  } catch (error) {
    if (error.status !== 404) return null;
  }
  try {
    await get("/v1/analytics/overview", { video_id: id, period: "all_time", parts: "total" });
    return { kind: "other", title: `Broadcast ${id}` };
  } catch (error) {
    return error.status === 404 ? { kind: "missing" } : null;
  }
}

/** The page of an id the server does not know. */
function notFound(main, kind, id) {
  const what = kind === "stream" ? "stream" : "video";
  document.title = `Not found · watchdepth`;
  replace(main,
    h("div", { class: "page-head" },
      h("nav", { "aria-label": "Breadcrumb", class: "crumbs" }, h("a", { href: "#/catalog" }, "Catalog")),
      h("h1", { tabindex: "-1" }, `No ${what} “${id}”`)),
    message("info", `This server has no ${what}, stream or broadcast with the id “${id}”.`,
      h("p", {}, "Check the link, or find it in the ", h("a", { href: "#/catalog" }, "catalog"), ".")));
  main.dataset.notFound = id;
}

function titleFor(kind) {
  return { overview: "Workspace analytics", video: "Video analytics", stream: "Stream analytics" }[kind];
}

/** #/overview, #/video/ID, #/stream/ID */
export function createAnalytics(main, kind, id) {
  const charts = {};
  const headline = h("h1", { tabindex: "-1" }, titleFor(kind));
  const subtitle = h("p", { class: "subtitle" });
  const livePill = h("a", { class: "live-pill", href: "#/live", hidden: true });
  const crumbs = kind === "overview" ? null
    : h("nav", { "aria-label": "Breadcrumb", class: "crumbs" }, h("a", { href: "#/catalog" }, "Catalog"), " / ",
      kind === "video" ? "Video" : "Stream");
  const head = h("div", { class: "page-head" }, crumbs, h("div", { class: "head-row" }, headline, livePill), subtitle);
  const filterSlot = h("div", { class: "filter-slot" });
  const emptySlot = h("div", { class: "empty-slot" });
  const omit = kind === "stream" ? ["watch_depth"] : [];
  const cardsSlot = h("div", { class: "cards-slot" }, metricCards(null, null, { omit }));
  const chartHeading = h("h2", { id: nextId("timeline") }, "Views per day");
  const chartSlot = h("div", { class: "chart-slot" });
  const chartTable = h("div");
  const metrics = metricSwitch((m) => patch({ metric: m }), omit);
  const interval = intervalSelect((g) => patch({ group_time: g }));
  const timelineCard = h("section", { class: "card card-wide", "aria-labelledby": chartHeading.id },
    h("div", { class: "card-head" }, chartHeading, h("div", { class: "card-tools" }, metrics.el, interval.el)),
    chartSlot, chartTable);
  // The item itself: its title, and whether a "video" is one (the top list and the live
  // list carry content ids, which may be a stream or one of its broadcasts).
  const item = kind === "overview" ? Promise.resolve(null) : lookUp(kind, id);
  const extras = [];
  const pieces = [];
  let overviewData = null;
  let destroyed = false;

  const dataKey = (route) => JSON.stringify([filters(route), groupTime(route), contentParams(route, kind, id)]);
  pieces.push({
    name: "overview", slot: cardsSlot, key: dataKey,
    async run(route, signal) {
      overviewData = null;
      const data = await fetchOverview(route, kind, id, signal);
      overviewData = data;
      const f = filters(route);
      const total = data.current.data?.total ?? {};
      replace(cardsSlot, metricCards(total, data.previous, { comparable: f.period !== "all_time", omit }));
      const label = f.period === "custom" ? "Custom range" : PERIOD_LABEL[f.period];
      subtitle.textContent = `${label} · ${describeRange(data.range, data.tz)} · ${data.tz}`;
      const zoneDefault = document.querySelector('#filter-tz option[value=""]');
      if (zoneDefault && workspaceZone) zoneDefault.textContent = `Workspace default (${workspaceZone})`;
      livePill.hidden = total.online == null;
      livePill.href = href("live", null, kind === "overview" ? {} : { [`${kind}_id`]: id });
      replace(livePill, h("span", { class: "dot", "aria-hidden": "true" }), `${fmtInt(total.online)} watching now`);
      const nothing = !total.player_loads && !total.views && !total.unique_views;
      replace(emptySlot, nothing ? await emptyState(kind, id, route, signal) : null);
    },
  });
  pieces.push({
    name: "timeline", slot: chartSlot, key: (route) => `${dataKey(route)}|${chartMetric(route, omit)}`,
    async run(route) {
      await runner.running("overview");
      if (!overviewData) return;
      drawTimeline(chartSlot, chartTable, chartHeading, overviewData, chartMetric(route, omit), groupTime(route), charts);
    },
  });

  const sections = [];
  if (kind === "overview") sections.push(topVideosSection(shared));
  if (kind === "video") sections.push(retentionSection(id, charts, item));
  if (kind === "stream") sections.push(concurrencySection(id, charts));
  sections.push(audienceSection((route) => contentParams(route, kind, id)));
  sections.push(qualitySection((route) => contentParams(route, kind, id), groupTime, charts));
  for (const s of sections) {
    pieces.push(...s.pieces);
    extras.push(s.el);
    if (s.control) head.append(s.control);
  }
  const runner = piecesRunner(pieces);

  replace(main, head, filterSlot, emptySlot, cardsSlot, timelineCard, extras);

  if (kind !== "overview") {
    headline.textContent = `${kind === "video" ? "Video" : "Stream"} ${id}`;
    item.then((found) => {
      if (found?.title) {
        headline.textContent = found.title;
        document.title = `${found.title} · watchdepth`;
      }
    });
  }

  return {
    title: titleFor(kind),
    update(route) {
      // A content page asks for its numbers once the item is known to exist.
      const done = kind === "overview" ? runner.update(route)
        : item.then((found) => {
          if (destroyed) return null;
          return found?.kind === "missing" ? notFound(main, kind, id) : runner.update(route);
        });
      replace(filterSlot, filterBar(route, { workspaceZone }));
      metrics.sync(chartMetric(route, omit));
      interval.sync(groupTime(route));
      for (const s of sections) s.sync?.(route);
      return done;
    },
    destroy() {
      destroyed = true;
      runner.destroy();
      for (const c of Object.values(charts)) c?.destroy?.();
    },
  };
}

