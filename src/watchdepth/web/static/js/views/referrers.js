// #/referrers: where the players are embedded. One row per domain, collapsible to the
// pages under it (button with aria-expanded; open groups are kept in the URL as
// open=domain,domain without adding history entries), sortable, exportable to CSV/XLSX.

import { get, rows, url } from "../api.js";
import { filterBar, message, pageHead, pager } from "../components.js";
import { h, replace, scrollBox } from "../dom.js";
import { fmtInt, fmtPercent } from "../format.js";
import { periodParams } from "../period.js";
import { piecesRunner } from "../pieces.js";
import { filters, patch } from "../route.js";

const PER_PAGE = 50;
const COLUMNS = [
  ["views", "Views"],
  ["player_loads", "Player loads"],
  ["view_rate", "View rate"],
];
const ORDERS = new Set(["views", "player_loads", "view_rate", "domain"]);

function orderOf(route) {
  const order = route.params.get("order") || "views.desc";
  const [field, dir] = order.split(".");
  return ORDERS.has(field) && ["asc", "desc"].includes(dir) ? order : "views.desc";
}

function openSet(route) {
  return new Set((route.params.get("open") || "").split(",").filter(Boolean));
}

function cells(row) {
  return [
    h("td", { class: "num", dataset: { col: "views" } }, fmtInt(row.views)),
    h("td", { class: "num", dataset: { col: "player_loads" } }, fmtInt(row.player_loads)),
    h("td", { class: "num", dataset: { col: "view_rate" } }, fmtPercent(row.view_rate)),
  ];
}

function headerRow(order, onSort) {
  const [field, dir] = order.split(".");
  const th = (key, label, num) => {
    const active = field === key;
    return h("th", { scope: "col", class: num ? "num" : null,
      "aria-sort": active ? (dir === "asc" ? "ascending" : "descending") : null },
    h("button", { type: "button", class: "sort-btn",
      onclick: () => onSort(`${key}.${active && dir === "desc" ? "asc" : "desc"}`) }, label,
    h("span", { class: "sort-icon", "aria-hidden": "true" }, active ? (dir === "asc" ? "↑" : "↓") : "↕")));
  };
  return h("tr", {}, th("domain", "Domain / page", false), COLUMNS.map(([k, label]) => th(k, label, true)));
}

function setOpen(button, open) {
  button.setAttribute("aria-expanded", open ? "true" : "false");
  for (const id of button.getAttribute("aria-controls").split(" ")) {
    document.getElementById(id).hidden = !open;
  }
}

function rememberOpen(tbody) {
  const open = [...tbody.querySelectorAll('button[aria-expanded="true"]')].map((b) => b.dataset.domain);
  patch({ open: open.join(",") || null }, { replace: true });
}

// The server lists a domain's pages with the most views, up to a bound; pages_total counts them all.
function pageCount(listed, total = listed) {
  const noun = total === 1 ? "page" : "pages";
  return total > listed ? `top ${listed} of ${total} ${noun}` : `${listed} ${noun}`;
}

function groupRows(group, index, open) {
  const ids = (group.pages ?? []).map((_, j) => `ref-${index}-${j}`);
  const pages = (group.pages ?? []).map((page, j) => {
    const path = page.url?.startsWith(group.domain) ? page.url.slice(group.domain.length) || "/" : page.url;
    return h("tr", { id: ids[j], class: "child-row", hidden: !open, dataset: { url: page.url } },
      h("th", { scope: "row" }, h("a", { href: `https://${page.url}`, rel: "noopener noreferrer", target: "_blank",
        title: page.url }, path)),
      cells(page));
  });
  const label = `${group.domain || "Direct or unknown"}`;
  const button = h("button", { type: "button", class: "disclosure", "aria-expanded": open ? "true" : "false",
    "aria-controls": ids.join(" ") || null, dataset: { domain: group.domain ?? "" }, disabled: !ids.length },
  h("span", { class: "chevron", "aria-hidden": "true" }), h("span", { class: "domain" }, label),
  h("span", { class: "count" }, ` ${pageCount(ids.length, group.pages_total)}`));
  button.addEventListener("click", () => {
    setOpen(button, button.getAttribute("aria-expanded") !== "true");
    rememberOpen(button.closest("tbody"));
  });
  const head = h("tr", { class: "group-row", dataset: { domain: group.domain ?? "" } },
    h("th", { scope: "row" }, button), cells(group));
  return [head, ...pages];
}

/**
 * Fetch the file first, so a server without the export (404) or a failed one says so
 * on the page instead of saving an error as a file; then save it under its name.
 */
async function download(event, status) {
  event.preventDefault();
  const link = event.currentTarget;
  status.textContent = "Preparing the file…";
  try {
    const response = await fetch(link.href, { credentials: "same-origin" });
    if (!response.ok) {
      if (response.status === 401) window.dispatchEvent(new CustomEvent("wd:signed-out"));
      status.textContent = response.status === 404
        ? "Export to files is not available on this server (it answered 404)."
        : `The export failed (the server answered ${response.status}).`;
      status.dataset.state = "error";
      return;
    }
    const blob = await response.blob();
    const save = h("a", { href: URL.createObjectURL(blob), download: link.getAttribute("download") });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(save.href), 10000);
    status.textContent = `Saved ${link.getAttribute("download")}.`;
    status.dataset.state = "done";
  } catch (error) {
    status.textContent = `The export failed: ${error.message}`;
    status.dataset.state = "error";
  }
}

export function createReferrers(main) {
  const filterSlot = h("div", { class: "filter-slot" });
  const slot = h("div", { class: "slot" });
  const exportStatus = h("span", { class: "muted export-note", role: "status" });
  const csv = h("a", { class: "btn", download: "referrers.csv", onclick: (e) => download(e, exportStatus) }, "Export CSV");
  const xlsx = h("a", { class: "btn", download: "referrers.xlsx", onclick: (e) => download(e, exportStatus) },
    "Export XLSX");
  const toggleAll = (open) => {
    const tbody = slot.querySelector("tbody");
    if (!tbody) return;
    for (const b of tbody.querySelectorAll("button.disclosure:not([disabled])")) setOpen(b, open);
    rememberOpen(tbody);
  };
  const tools = h("div", { class: "toolbar" },
    h("button", { type: "button", class: "btn", onclick: () => toggleAll(true) }, "Expand all"),
    h("button", { type: "button", class: "btn", onclick: () => toggleAll(false) }, "Collapse all"),
    h("span", { class: "spacer" }), exportStatus, csv, xlsx);
  const sub = h("p", { class: "subtitle" },
    "Pages your players are embedded on, grouped by domain, with views, player loads and view rate.");
  replace(main, pageHead("Referrers", sub), filterSlot,
    h("section", { class: "card", "aria-label": "Referrers by domain" }, tools, slot));

  const runner = piecesRunner([{
    name: "referrers", slot,
    key: (route) => JSON.stringify([filters(route), orderOf(route), route.params.get("page")]),
    async run(route, signal) {
      const page = Number(route.params.get("page")) || 1;
      const params = { ...periodParams(filters(route)), order: orderOf(route) };
      csv.href = url("/v1/analytics/referrers.csv", params);
      xlsx.href = url("/v1/analytics/referrers.xlsx", params);
      const payload = await get("/v1/analytics/referrers", { ...params, page, per_page: PER_PAGE }, signal);
      const groups = rows(payload);
      if (!groups.length) {
        replace(slot, message("info", "No player loads with a known page in this period.",
          h("p", {}, "Referrers come from the page a player is embedded on (the event's url, else the Referer header).")));
        return;
      }
      const open = openSet(route);
      const tbody = h("tbody", {}, groups.map((g, i) => groupRows(g, i, open.has(g.domain ?? ""))));
      replace(slot,
        scrollBox(h("table", { class: "table table-tree" },
          h("caption", { class: "sr-only" }, "Referrers by domain; expand a domain to see its pages"),
          h("thead", {}, headerRow(orderOf(route), (order) => patch({ order, page: null }))), tbody)),
        pager(payload.meta?.pagination, (p) => patch({ page: p })));
    },
  }]);

  return {
    title: "Referrers",
    update(route) {
      replace(filterSlot, filterBar(route));
      return runner.update(route);
    },
    destroy() {
      runner.destroy();
    },
  };
}
