// The single-page app: reads the route from the URL hash, keeps one view per
// (page, id) and hands it every URL change; marks <html data-wd-state> "ready" once
// the view is fully drawn (tests and the benchmark wait on it).

import { errorMessage } from "./components.js";
import { replace } from "./dom.js";
import { href, parse, shared } from "./route.js";
import { createAnalytics } from "./views/analytics.js";

// The analytics pages are the ones opened first; the others load when first visited
// (fewer files on the first load; routes.py preloads only the analytics pages' modules).
// A module that arrives after the URL moved on builds nothing: its constructor draws into
// <main>, which by then belongs to the newer page.
const lazy = (path, name) => async (main, id, stillWanted) => {
  const module = await import(path);
  return stillWanted() ? module[name](main, id) : null;
};
const VIEWS = {
  overview: async (main) => createAnalytics(main, "overview", null),
  video: async (main, id) => createAnalytics(main, "video", id),
  stream: async (main, id) => createAnalytics(main, "stream", id),
  live: lazy("./views/live.js", "createLive"),
  referrers: lazy("./views/referrers.js", "createReferrers"),
  viewer: lazy("./views/viewer.js", "createViewer"),
  catalog: lazy("./views/catalog.js", "createCatalog"),
};
const NAV_PAGE = { video: "catalog", stream: "catalog" };

const main = document.getElementById("main");
let view = null;
let viewKey = null;
let generation = 0;

function setState(state) {
  document.documentElement.dataset.wdState = state;
  if (state === "ready") performance.mark("wd-ready");
}

function updateNav(route) {
  const keep = shared(route);
  for (const link of document.querySelectorAll(".mainnav a")) {
    const page = link.dataset.page;
    link.href = href(page, null, keep);
    const current = page === (NAV_PAGE[route.page] ?? route.page);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function render() {
  const route = parse();
  if (!VIEWS[route.page] || ((route.page === "video" || route.page === "stream") && !route.id)) {
    history.replaceState(null, "", "#/overview");
    return render();
  }
  const my = ++generation;
  const key = `${route.page}/${route.id ?? ""}`;
  const focusedId = document.activeElement?.id;
  setState("loading");
  updateNav(route);
  const fresh = key !== viewKey || !view; // !view: that page's module is still loading
  let done;
  try {
    if (fresh) {
      view?.destroy();
      view = null;
      viewKey = key;
      const made = await VIEWS[route.page](main, route.id, () => my === generation);
      if (my !== generation) {
        made?.destroy(); // the URL changed while the page's module loaded
        return;
      }
      view = made;
      document.title = `${view.title} · watchdepth`;
    }
    done = view.update(route);
  } catch (error) {
    replace(main, errorMessage(error));
  }
  if (fresh) {
    if (performance.getEntriesByName("wd-first-view").length) main.querySelector("h1")?.focus({ preventScroll: true });
    performance.mark("wd-first-view");
  } else if (focusedId && document.activeElement === document.body) {
    document.getElementById(focusedId)?.focus();
  }
  try {
    await done;
  } finally {
    if (my === generation) setState("ready");
  }
}

window.addEventListener("hashchange", () => render());
// A revoked token or an expired cookie: back to the sign-in page, which keeps the view's
// URL. At most once a minute, so a server that disagrees with itself cannot loop.
window.addEventListener("wd:signed-out", () => {
  const last = Number(sessionStorage.getItem("wd-signed-out") || 0);
  if (Date.now() - last < 60000) return;
  sessionStorage.setItem("wd-signed-out", String(Date.now()));
  location.reload();
});
document.getElementById("export-open").addEventListener("click", async (e) => {
  const opener = e.currentTarget;
  (await import("./export.js")).openExport(opener);
});
document.getElementById("skip-link").addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});
render();
