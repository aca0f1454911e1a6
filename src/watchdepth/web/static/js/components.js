// Reusable pieces of the pages: the filter bar, tables, tabs, cards, messages.
// Each takes data and returns elements; the URL stays the single source of state.

import { h, nextId, replace, scrollBox } from "./dom.js";
import { CARD_METRICS, change, fmtMetric } from "./format.js";
import { PERIODS, addDays, timeZones } from "./period.js";
import { filters, patch } from "./route.js";

let zoneOptions = null;

function select(label, id, options, value, onChange) {
  const el = h("select", { id, onchange: (e) => onChange(e.target.value) },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
  return h("div", { class: "field" }, h("label", { for: id }, label), el);
}

/** Period, custom range and time zone. Changes go to the URL (one history entry). */
export function filterBar(route, { defaultPeriod, workspaceZone } = {}) {
  const f = filters(route, defaultPeriod);
  const wantsCustom = route.params.get("period") === "custom";
  const bar = h("form", { class: "filters", "aria-label": "Filters", onsubmit: (e) => e.preventDefault() });
  const today = new Date().toISOString().slice(0, 10);
  const fromInput = h("input", { type: "date", id: "filter-from", value: f.from || addDays(today, -6), max: today });
  const toInput = h("input", { type: "date", id: "filter-to", value: f.to || today, max: today });
  const apply = h("button", { type: "submit", class: "btn btn-primary" }, "Apply");
  const custom = h("div", { class: "custom-range", hidden: !wantsCustom },
    h("div", { class: "field" }, h("label", { for: "filter-from" }, "From"), fromInput),
    h("div", { class: "field" }, h("label", { for: "filter-to" }, "To"), toInput),
    apply);
  bar.addEventListener("submit", () => {
    if (!fromInput.value || !toInput.value) return;
    const [from, to] = [fromInput.value, toInput.value].sort();
    patch({ period: "custom", from, to, page: null });
  });
  const period = select("Period", "filter-period", PERIODS, wantsCustom ? "custom" : f.period, (value) => {
    if (value === "custom") {
      custom.hidden = false;
      fromInput.focus();
    } else {
      patch({ period: value, from: null, to: null, page: null });
    }
  });
  zoneOptions ??= timeZones().map((z) => [z, z.replaceAll("_", " ")]);
  const defaultLabel = `Workspace default${workspaceZone ? ` (${workspaceZone})` : ""}`;
  const zone = select("Time zone", "filter-tz", [["", defaultLabel], ...zoneOptions], f.tz,
    (value) => patch({ tz: value }));
  zone.classList.add("field-tz");
  bar.append(period, custom, zone);
  return bar;
}

/** Replace a section's content once data is there; keeps the old content dimmed meanwhile. */
export function busy(el, on) {
  el.setAttribute("aria-busy", on ? "true" : "false");
}

/** The metric cards; `omit` leaves some out (a live stream has no length, so no watch depth). */
export function metricCards(total, previous, { comparable = true, omit = [] } = {}) {
  return h("section", { class: "cards", "aria-label": "Totals" },
    CARD_METRICS.filter((m) => !omit.includes(m.key)).map((m) => {
      const value = total?.[m.key] ?? 0;
      const ch = comparable && previous ? change(m.key, value, previous[m.key]) : null;
      return h("article", { class: "metric-card", dataset: { metric: m.key } },
        h("h3", { class: "metric-label", title: m.help }, m.label),
        total
          ? h("p", { class: "metric-value", dataset: fmtMetric(m.key, value).length > 7 ? { value, long: "" } : { value } },
            fmtMetric(m.key, value))
          : h("p", { class: "metric-value metric-pending" }, h("span", { class: "sr-only" }, "Loading"), "–"),
        ch
          ? h("p", { class: `metric-change ${ch.dir}`, dataset: { previous: previous[m.key] ?? "" },
            title: `Previous period: ${fmtMetric(m.key, previous[m.key] ?? 0)}` },
          h("span", { class: "delta" },
            h("span", { class: "arrow", "aria-hidden": "true" }, ch.dir === "up" ? "▲" : ch.dir === "down" ? "▼" : "•"),
            h("span", { class: "sr-only" }, `${ch.words} `),
            h("span", { "aria-hidden": "true" }, ch.text)),
          h("span", { class: "vs" }, " vs previous period"))
          : h("p", { class: "metric-change none" }, !total ? "\u00a0" : comparable ? "No comparison" : "No previous period"));
    }));
}

/**
 * A data table. columns: [{key, label, num?, render?(row) -> node|string, sort?}].
 * sort: {order: "views.desc", onSort(order)} makes header buttons with aria-sort.
 */
export function table(columns, data, { caption, sort, rowKey, className = "" } = {}) {
  const [sortField, sortDir] = (sort?.order || "").split(".");
  const head = h("tr", {}, columns.map((c) => {
    const active = sort && c.sort && sortField === c.key;
    const aria = active ? (sortDir === "asc" ? "ascending" : "descending") : null;
    const content = sort && c.sort
      ? h("button", { type: "button", class: "sort-btn",
        onclick: () => sort.onSort(`${c.key}.${active && sortDir === "desc" ? "asc" : "desc"}`) },
      c.label, h("span", { class: "sort-icon", "aria-hidden": "true" }, active ? (sortDir === "asc" ? "↑" : "↓") : "↕"))
      : c.label;
    return h("th", { scope: "col", class: c.num ? "num" : null, "aria-sort": aria }, content);
  }));
  const body = h("tbody", {}, data.map((row, i) =>
    h("tr", { dataset: rowKey ? { key: rowKey(row, i) } : {} }, columns.map((c, j) => {
      const value = c.render ? c.render(row, i) : row[c.key];
      return h(j === 0 ? "th" : "td", { scope: j === 0 ? "row" : null, class: c.num ? "num" : null,
        dataset: { col: c.key } }, value);
    }))));
  return scrollBox(
    h("table", { class: `table ${className}` },
      caption ? h("caption", { class: "sr-only" }, caption) : null,
      h("thead", {}, head), body));
}

/**
 * Keyboard-operable tabs (WAI-ARIA tabs pattern, manual activation via URL).
 * items: [[key, label]]; onSelect(key) is called on click/Enter/Space and arrow keys.
 */
export function tabs(label, items, selected, onSelect) {
  const ids = Object.fromEntries(items.map(([k]) => [k, nextId(`tab-${k}`)]));
  const panelId = nextId("tabpanel");
  const list = h("div", { role: "tablist", "aria-label": label, class: "tabs" });
  const buttons = items.map(([key, text]) => h("button", {
    type: "button", role: "tab", id: ids[key], "aria-selected": key === selected ? "true" : "false",
    "aria-controls": panelId, tabindex: key === selected ? "0" : "-1", dataset: { key },
    onclick: () => onSelect(key),
  }, text));
  list.addEventListener("keydown", (e) => {
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: buttons.length - 1 - i };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const next = buttons[(i + moves[e.key] + buttons.length) % buttons.length];
    next.focus();
    onSelect(next.dataset.key);
  });
  list.append(...buttons);
  const panel = h("div", { role: "tabpanel", id: panelId, "aria-labelledby": ids[selected], tabindex: "0",
    class: "tabpanel" });
  return { list, panel };
}

export function message(kind, title, ...body) {
  return h("div", { class: `message message-${kind}`, role: kind === "error" ? "alert" : null },
    h("p", { class: "message-title" }, title), ...body);
}

export function errorMessage(error) {
  if (error?.status === 401) {
    return message("error", "Your session has ended.",
      h("p", {}, "The token was revoked or the cookie expired. ",
        h("a", { href: "/" }, "Sign in again"), "."));
  }
  const detail = error?.status ? `The server answered ${error.status}${error.code ? ` (code ${error.code})` : ""}.` : "";
  return message("error", error?.message || "Something went wrong.", h("p", {}, detail));
}

export function pageHead(title, ...extra) {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, title), ...extra);
}

export function card(title, ...children) {
  const id = nextId("card");
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

export function pager(pagination, onPage) {
  const { page = 1, per_page: perPage = 10, total = 0 } = pagination || {};
  const pages = Math.max(1, Math.ceil(total / perPage));
  if (pages <= 1) return null;
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", class: "btn", disabled: page <= 1, onclick: () => onPage(page - 1) }, "Previous"),
    h("span", { "aria-live": "polite" }, `Page ${page} of ${pages}`),
    h("button", { type: "button", class: "btn", disabled: page >= pages, onclick: () => onPage(page + 1) }, "Next"));
}

export function setText(el, text) {
  replace(el, text);
}
