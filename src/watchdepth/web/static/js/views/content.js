// Sections of one content item's page: the retention curve of a video, concurrent
// viewers of a stream (peak marked), and the empty state with the embed snippet.

import { get, rows } from "../api.js";
import { dataTable, lineChart } from "../chart.js";
import { card, message } from "../components.js";
import { h, nextId, replace } from "../dom.js";
import { fmtClock, fmtDateTime, fmtInt, fmtPercent } from "../format.js";
import { periodParams, ranges } from "../period.js";
import { filters, href, parse, patch } from "../route.js";

const MAX_TABLE_ROWS = 120;

export function retentionSection(videoId, charts, item = Promise.resolve({ kind: "video" })) {
  const slot = h("div", { class: "slot" });
  const el = card("Audience retention", slot);
  el.classList.add("card-wide");
  const piece = {
    name: "retention", slot,
    key: (route) => JSON.stringify(filters(route)),
    async run(route, signal) {
      const found = await item;
      if (found && found.kind !== "video") {
        replace(slot, message("info", "Retention is drawn for videos; this is a live broadcast, which has no fixed length."));
        return;
      }
      const payload = await get("/v1/analytics/retention",
        { ...periodParams(filters(route)), video_id: videoId }, signal);
      const { points = [], duration, unique_views: uniques } = payload.data ?? {};
      if (!points.length || !uniques) {
        replace(slot, message("info", "No one started this video in this period, so there is no retention curve yet."));
        return;
      }
      const xs = points.map((p) => p.second);
      const ys = points.map((p) => Math.round((Number(p.share) || 0) * 1000) / 10);
      charts.retention?.destroy();
      charts.retention = lineChart({ xs, ys, time: false, label: "Share of viewers still watching, by second of the video",
        formatX: fmtClock, formatY: (v) => `${Math.round(v)}%`, width: slot.clientWidth || 600 });
      const step = Math.max(1, Math.ceil(points.length / MAX_TABLE_ROWS));
      const sampled = points.filter((p, i) => i % step === 0);
      replace(slot,
        h("p", { class: "muted" }, `Of ${fmtInt(uniques)} unique impressions, the share still watching at each second`,
          duration ? ` of ${fmtClock(duration)}.` : "."),
        charts.retention.el,
        dataTable(step > 1 ? `Show the numbers (every ${step} s)` : "Show the numbers", ["Second", "Viewers", "Share"],
          sampled.map((p) => [fmtClock(p.second), fmtInt(p.viewers), fmtPercent(Math.round((p.share || 0) * 100))])));
    },
  };
  return { el, pieces: [piece] };
}

/** The concurrency payload (api/live.py): `series` of {time, viewers}, `peak_concurrent_viewers`, `peak_at`. */
function readConcurrency(data = {}) {
  const points = (data.series ?? []).map((p) => ({ time: Date.parse(p.time) / 1000, viewers: Number(p.viewers) || 0 }))
    .filter((p) => Number.isFinite(p.time));
  return { points, peak: Number(data.peak_concurrent_viewers) || 0, peakAt: data.peak_at ?? null };
}

// Bucket sizes of the concurrency series (each point is its bucket's own peak): the
// smallest that keeps a period within MAX_POINTS points.
const STEPS = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400];
const MAX_POINTS = 800;

export function concurrencyStep(range) {
  if (!range) return 3600;
  const seconds = Math.max(1, (range[1] - range[0]) / 1000);
  return STEPS.find((s) => seconds / s <= MAX_POINTS) ?? STEPS[STEPS.length - 1];
}

async function fetchConcurrency(route, target, signal) {
  const f = filters(route);
  const range = ranges(f.period, f.tz || "UTC", Date.now(), f.from, f.to).current;
  const params = { ...periodParams(f), ...target, step: concurrencyStep(range) };
  try {
    return await get("/v1/analytics/concurrency", params, signal);
  } catch (error) {
    // All time has no range here; a long one needs day buckets.
    const stepRefused = error.status === 400 && (error.detail ?? []).some((p) => p.name === "step");
    if (!stepRefused) throw error;
    return get("/v1/analytics/concurrency", { ...params, step: 86400 }, signal);
  }
}

export function concurrencySection(streamId, charts) {
  const slot = h("div", { class: "slot" });
  const selectId = nextId("event");
  const select = h("select", { id: selectId, onchange: (e) => patch({ event_id: e.target.value }) },
    h("option", { value: "" }, "Whole stream"));
  // The broadcast choice filters the whole stream page, so the page puts it by its title.
  const control = h("div", { class: "field field-inline broadcast-field" }, h("label", { for: selectId }, "Broadcast"),
    select);
  const el = card("Concurrent viewers", slot);
  el.classList.add("card-wide");
  get(`/v1/streams/${encodeURIComponent(streamId)}/events`, { per_page: 100 }).then((payload) => {
    select.append(...rows(payload).map((e) => h("option", { value: e.id }, e.title || e.id)));
    select.value = select.dataset.want || "";
  }).catch(() => {});
  const piece = {
    name: "concurrency", slot,
    key: (route) => JSON.stringify([filters(route), route.params.get("event_id")]),
    async run(route, signal) {
      const eventId = route.params.get("event_id");
      const target = eventId ? { event_id: eventId } : { stream_id: streamId };
      const payload = await fetchConcurrency(route, target, signal);
      const tz = payload.meta?.time?.timezone || filters(route).tz || "UTC";
      const { points, peak, peakAt } = readConcurrency(payload.data);
      if (!points.length || !peak) {
        replace(slot, message("info", "Nobody watched this stream in this period."));
        return;
      }
      const peakPoint = peakAt ? { x: Date.parse(peakAt) / 1000, y: peak }
        : points.reduce((a, b) => (b.viewers > a.viewers ? b : a), points[0]);
      const marker = { x: peakPoint.x ?? peakPoint.time, y: peakPoint.y ?? peakPoint.viewers, label: `Peak ${fmtInt(peak)}` };
      const when = fmtDateTime(marker.x * 1000, tz, true);
      charts.concurrency?.destroy();
      charts.concurrency = lineChart({ xs: points.map((p) => p.time), ys: points.map((p) => p.viewers), tz, marker,
        stepped: true, label: `Concurrent viewers; peak ${peak} at ${when}`, width: slot.clientWidth || 600,
        formatX: (s) => fmtDateTime(s * 1000, tz), formatY: fmtInt });
      replace(slot,
        h("p", { class: "peak", dataset: { at: peakAt ?? "" } }, h("strong", { dataset: { value: peak } }, `Peak: ${fmtInt(peak)}`),
          ` concurrent viewers at ${when}`),
        charts.concurrency.el,
        dataTable("Show the numbers", ["Time", "Viewers"],
          points.slice(0, MAX_TABLE_ROWS * 4).map((p) => [fmtDateTime(p.time * 1000, tz), fmtInt(p.viewers)])));
    },
  };
  const sync = (route) => { select.dataset.want = route.params.get("event_id") || ""; select.value = select.dataset.want; };
  return { el, control, pieces: [piece], sync };
}

/** The tracker's one-tag embed (src/watchdepth/tracker/README.md), filled in for this server. */
function snippet(id, attribute = "data-video-id") {
  const value = id.replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  return `<video ${attribute}="${value}" src="YOUR-MEDIA-URL" controls></video>
<script src="${location.origin}/tracker.js" defer></script>`;
}

function snippetBlock(id, attribute) {
  const code = h("code", {}, snippet(id, attribute));
  const status = h("span", { class: "muted", role: "status" });
  const copy = h("button", { type: "button", class: "btn", onclick: async () => {
    try {
      await navigator.clipboard.writeText(code.textContent);
      status.textContent = "Copied.";
    } catch {
      status.textContent = "Select the code and copy it.";
    }
  } }, "Copy snippet");
  return h("div", { class: "snippet" }, h("pre", { tabindex: "0", "aria-label": "Embed snippet" }, code),
    h("div", { class: "snippet-tools" }, copy, status));
}

/** Whether the workspace (or this video) has any data at all, in all time. */
async function hasAnyData(kind, id, route, signal) {
  const params = { period: "all_time", parts: "total", timezone: filters(route).tz || null };
  if (kind === "video") params.video_id = id;
  try {
    const total = (await get("/v1/analytics/overview", params, signal)).data?.total ?? {};
    return Boolean(total.player_loads || total.views || total.unique_views);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return false;
  }
}

/**
 * What to say when a page has no data: the tracker snippet ("Getting started?") only
 * when nothing at all was ever recorded; an empty period of a live workspace just says so.
 */
export async function emptyState(kind, id, route, signal) {
  if (kind === "stream") {
    return message("empty", "No one has watched this stream in this period.",
      h("p", {}, "Players of a live stream carry ", h("code", {}, "data-stream-id"),
        " (and ", h("code", {}, "data-event-id"), " for one broadcast). Try a longer period, or start a broadcast."),
      snippetBlock(id, "data-stream-id"));
  }
  if (kind === "overview" || kind === "video") {
    const period = filters(route).period;
    if (period !== "all_time" && await hasAnyData(kind, id, route, signal)) {
      const what = kind === "video" ? "this video" : "any video";
      const here = parse();
      const allTime = href(here.page, here.id, { ...Object.fromEntries(here.params), period: "all_time", from: null, to: null });
      return message("info", `No plays of ${what} in this period.`,
        h("p", {}, "Choose a longer period to see earlier data, such as ", h("a", { href: allTime }, "All time"), "."));
    }
  }
  let videoId = kind === "video" ? id : null;
  if (kind === "overview") {
    const payload = await get("/v1/videos", { per_page: 1 }, signal).catch(() => null);
    videoId = rows(payload)[0]?.id ?? null;
  }
  if (!videoId) {
    return message("empty", "Nothing to show yet: add your first video.",
      h("p", {}, "Create a video in the catalog (", h("code", {}, "POST /v1/videos"),
        " with its id, project and duration), then embed the player snippet that appears here."));
  }
  return message("empty", "No plays recorded yet.",
    h("p", {}, "Getting started? Add the tracker to the page with your player (the ", h("code", {}, "data-video-id"),
      " is ", h("code", {}, videoId), ", a video of your catalog), play it for a few seconds, and the numbers ",
      "appear here. Other players (hls.js, video.js, Plyr, Kinescope) use ", h("code", {}, "watchdepth.track()"), "."),
    snippetBlock(videoId),
    h("p", { class: "muted" }, "Testing with a headless browser? Its plays are counted as bots: set a normal user agent ",
      "(the tracker's README has the recipe)."));
}
