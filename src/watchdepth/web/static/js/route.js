// All view state lives in the URL's hash: "#/page/id?key=value&...". This module
// reads it and writes it; nothing else touches location.

import { DEFAULT_PERIOD } from "./period.js";

/** Parameters that follow the user from page to page (the nav links keep them). */
export const SHARED = ["period", "from", "to", "tz"];

export function parse(hash = location.hash) {
  const raw = hash.replace(/^#/, "");
  const [path, query = ""] = raw.split("?");
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: segments[0] || "overview", id: segments[1] ?? null, params: new URLSearchParams(query) };
}

export function href(page, id = null, params = {}) {
  const search = new URLSearchParams();
  const entries = params instanceof URLSearchParams ? params.entries() : Object.entries(params);
  for (const [key, value] of entries) {
    if (value != null && value !== "") search.set(key, value);
  }
  const query = search.toString();
  return `#/${page}${id != null ? `/${encodeURIComponent(id)}` : ""}${query ? `?${query}` : ""}`;
}

/** The shared parameters of a route, to carry into a link. */
export function shared(route) {
  return Object.fromEntries(SHARED.map((k) => [k, route.params.get(k)]).filter(([, v]) => v));
}

/** Set (or with null, remove) parameters of the current route: one history entry. */
export function patch(changes, { replace = false } = {}) {
  const route = parse();
  const params = new URLSearchParams(route.params);
  for (const [key, value] of Object.entries(changes)) {
    if (value == null || value === "") params.delete(key);
    else params.set(key, value);
  }
  const next = href(route.page, route.id, params);
  if (replace) history.replaceState(history.state, "", next);
  else location.hash = next;
}

/** The analytics filters as a plain object, with defaults filled in. */
export function filters(route, defaultPeriod = DEFAULT_PERIOD) {
  const p = route.params;
  let period = p.get("period") || defaultPeriod;
  if (period === "custom" && !(p.get("from") && p.get("to"))) period = defaultPeriod;
  return {
    period,
    from: period === "custom" ? p.get("from") : null,
    to: period === "custom" ? p.get("to") : null,
    tz: p.get("tz") || "",
  };
}
