// #/live: watching now, the live count and the per-video list. Pushed by the server
// (Server-Sent Events on /v1/analytics/realtime/stream) where it offers them, else
// polled every 2 s from /v1/analytics/realtime.

import { get } from "../api.js";
import { errorMessage, message, table } from "../components.js";
import { h, replace } from "../dom.js";
import { fmtInt } from "../format.js";
import { href, shared } from "../route.js";

const POLL_MS = 2000;
/** Filters of the live page, passed to the API as they are. */
const SCOPES = ["video_id", "stream_id"];

export function createLive(main) {
  const count = h("p", { class: "live-count", dataset: { value: "" } }, "–");
  const status = h("p", { class: "muted live-status" }, "Connecting…");
  const list = h("div", { class: "slot" });
  const headline = h("h1", { tabindex: "-1" }, "Watching now");
  const scope = h("p", { class: "subtitle" }, "Sessions playing a video right now, across the workspace.");
  replace(main,
    h("div", { class: "page-head" }, headline, scope),
    h("section", { class: "card live-card", "aria-label": "Live count" },
      h("div", { class: "live-now" }, h("span", { class: "dot dot-live", "aria-hidden": "true" }),
        h("span", { class: "live-label" }, "Viewers watching now")), count, status),
    h("section", { class: "card", "aria-labelledby": "live-videos" }, h("h2", { id: "live-videos" }, "By video"), list));

  let source = null;
  let timer = null;
  let stopped = false;
  let route = null;
  let resolveFirst;
  const first = new Promise((r) => { resolveFirst = r; });

  function draw(payload, mode) {
    const data = payload?.data ?? payload ?? {};
    count.dataset.value = data.online ?? 0;
    count.textContent = fmtInt(data.online);
    const how = mode === "sse" ? "live from the server" : "refreshed every 2 s";
    status.textContent = `Updated ${new Date().toLocaleTimeString("en-GB")} · ${how}`;
    main.dataset.liveMode = mode;
    const videos = [...(data.videos ?? [])].sort((a, b) => (b.online ?? 0) - (a.online ?? 0));
    const keep = route ? shared(route) : {};
    replace(list, videos.length
      ? table([
        { key: "title", label: "Video",
          render: (v) => h("a", { href: href("video", v.video_id, keep) }, v.title || v.video_id) },
        { key: "online", label: "Watching now", num: true, render: (v) => fmtInt(v.online) },
      ], videos, { caption: "Videos being watched now", rowKey: (v) => v.video_id })
      : message("info", "Nobody is watching right now.",
        h("p", {}, "This page updates by itself; leave it open to see viewers arrive.")));
    resolveFirst();
  }

  function params() {
    const out = {};
    for (const key of SCOPES) if (route?.params.get(key)) out[key] = route.params.get(key);
    return out;
  }

  async function poll() {
    if (stopped) return;
    try {
      draw(await get("/v1/analytics/realtime", params()), "poll");
    } catch (error) {
      replace(list, errorMessage(error));
      resolveFirst();
      if (error.status === 401) return;
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  function connect() {
    const query = new URLSearchParams(params()).toString();
    let received = false;
    source = new EventSource(`/v1/analytics/realtime/stream${query ? `?${query}` : ""}`);
    source.onmessage = (event) => {
      received = true;
      try {
        draw(JSON.parse(event.data), "sse");
      } catch (error) {
        console.warn("live: bad event", error);
      }
    };
    source.onerror = () => {
      // No stream on this server (or it went away before saying anything): poll instead.
      if (!received || source.readyState === EventSource.CLOSED) {
        source.close();
        source = null;
        if (!stopped && timer === null) poll();
      }
    };
  }

  return {
    title: "Watching now",
    update(next) {
      const changed = SCOPES.some((k) => route?.params.get(k) !== next.params.get(k));
      route = next;
      const videoId = next.params.get("video_id");
      const streamId = next.params.get("stream_id");
      scope.textContent = videoId ? `Sessions playing video ${videoId} right now.`
        : streamId ? `Sessions watching stream ${streamId} right now.`
          : "Sessions playing a video right now, across the workspace.";
      if (changed || (!source && timer === null)) {
        source?.close();
        source = null;
        clearTimeout(timer);
        timer = null;
        if (typeof EventSource === "function") connect();
        else poll();
      }
      return first;
    },
    destroy() {
      stopped = true;
      source?.close();
      clearTimeout(timer);
    },
  };
}
