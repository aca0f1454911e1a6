// #/catalog?project_id=&folder_id=: projects, their folder trees, videos and streams,
// each item one click from its analytics. With no project chosen every video is listed,
// so any item is two clicks from anywhere (Catalog, then the item).

import { get, rows } from "../api.js";
import { card, message, pageHead, pager, table } from "../components.js";
import { h, nextId, replace } from "../dom.js";
import { fmtClock } from "../format.js";
import { piecesRunner } from "../pieces.js";
import { href, patch, shared } from "../route.js";

const PER_PAGE = 100;
const folderCache = new Map();

async function foldersOf(projectId, signal) {
  if (!folderCache.has(projectId)) {
    folderCache.set(projectId, get("/v1/folders", { project_id: projectId, per_page: 1000 }, signal)
      .then(rows).catch((e) => { folderCache.delete(projectId); throw e; }));
  }
  return folderCache.get(projectId);
}

function children(folders, parentId) {
  return folders.filter((f) => (f.parent_id ?? null) === parentId)
    .sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

function ancestors(folders, folderId) {
  const byId = new Map(folders.map((f) => [f.id, f]));
  const out = [];
  for (let f = byId.get(folderId); f; f = byId.get(f.parent_id)) out.unshift(f);
  return out;
}

/** Nested lists; a folder with subfolders has a toggle (aria-expanded). */
function folderTree(folders, parentId, ctx) {
  const items = children(folders, parentId);
  if (!items.length) return null;
  return h("ul", { class: "tree", role: "list" }, items.map((f) => {
    const kids = folderTree(folders, f.id, ctx);
    const open = ctx.openIds.has(f.id);
    const listId = nextId("folder");
    if (kids) {
      kids.id = listId;
      kids.hidden = !open;
    }
    const toggle = kids
      ? h("button", { type: "button", class: "tree-toggle", "aria-expanded": open ? "true" : "false",
        "aria-controls": listId, "aria-label": `Subfolders of ${f.name}`,
        onclick: (e) => {
          const btn = e.currentTarget;
          const next = btn.getAttribute("aria-expanded") !== "true";
          btn.setAttribute("aria-expanded", String(next));
          kids.hidden = !next;
        } }, h("span", { class: "chevron", "aria-hidden": "true" }))
      : h("span", { class: "tree-spacer", "aria-hidden": "true" });
    const current = ctx.folderId === f.id;
    return h("li", {}, h("div", { class: "tree-row" }, toggle,
      h("a", { href: href("catalog", null, { ...ctx.keep, project_id: f.project_id ?? ctx.projectId, folder_id: f.id }),
        "aria-current": current ? "page" : null }, f.name)), kids);
  }));
}

export function createCatalog(main) {
  const side = h("nav", { class: "catalog-side card", "aria-label": "Projects and folders" });
  const listSlot = h("div", { class: "slot" });
  const streamSlot = h("div", { class: "slot" });
  const heading = h("h2", {}, "All videos");
  replace(main,
    pageHead("Catalog", h("p", { class: "subtitle" }, "Projects, folders, videos and streams. Pick one to see its analytics.")),
    h("div", { class: "catalog" }, side,
      h("div", { class: "catalog-main" },
        h("section", { class: "card", "aria-label": "Videos" }, heading, listSlot),
        card("Streams", streamSlot))));

  let projects = [];
  const runner = piecesRunner([
    {
      name: "tree", slot: side,
      key: (route) => JSON.stringify([route.params.get("project_id"), route.params.get("folder_id")]),
      async run(route, signal) {
        if (!projects.length) projects = rows(await get("/v1/projects", { per_page: 1000 }, signal));
        const projectId = route.params.get("project_id");
        const folderId = route.params.get("folder_id");
        const folders = projectId ? await foldersOf(projectId, signal) : [];
        const openIds = new Set(ancestors(folders, folderId).map((f) => f.id));
        const keep = shared(route);
        const ctx = { projectId, folderId, openIds, keep };
        replace(side, h("h2", {}, "Projects"),
          h("ul", { class: "tree tree-root", role: "list" },
            h("li", {}, h("div", { class: "tree-row" }, h("a", { href: href("catalog", null, keep),
              "aria-current": !projectId ? "page" : null }, "All projects"))),
            projects.map((p) => h("li", {},
              h("div", { class: "tree-row" }, h("a", { href: href("catalog", null, { ...keep, project_id: p.id }),
                "aria-current": projectId === p.id && !folderId ? "page" : null, class: "project-link" },
              p.name || p.id)),
              p.id === projectId ? folderTree(folders, null, ctx) : null))));
        const names = projectId ? [projects.find((p) => p.id === projectId)?.name ?? projectId,
          ...ancestors(folders, folderId).map((f) => f.name)] : [];
        heading.textContent = names.length ? names.join(" / ") : "All videos";
        if (!projects.length) {
          replace(listSlot, message("empty", "No projects yet.",
            h("p", {}, "Create a project and its videos with the API (", h("code", {}, "POST /v1/projects"), ", ",
              h("code", {}, "POST /v1/videos"), "); they appear here.")));
        }
      },
    },
    {
      name: "videos", slot: listSlot,
      key: (route) => JSON.stringify(["project_id", "folder_id", "page"].map((k) => route.params.get(k))),
      async run(route, signal) {
        const page = Number(route.params.get("page")) || 1;
        const payload = await get("/v1/videos", { project_id: route.params.get("project_id"),
          folder_id: route.params.get("folder_id"), page, per_page: PER_PAGE }, signal);
        const videos = rows(payload);
        const keep = shared(route);
        if (!videos.length) {
          await runner.running("tree");
          if (!projects.length) return; // the tree piece says what to do first
          replace(listSlot, message("info", "No videos here."));
          return;
        }
        const projectId = route.params.get("project_id");
        await runner.running("tree");
        const folders = projectId ? await foldersOf(projectId, signal).catch(() => []) : [];
        const folderPath = (id) => ancestors(folders, id).map((f) => f.name).join(" / ") || "–";
        const projectName = (id) => projects.find((p) => p.id === id)?.name ?? id ?? "–";
        const where = projectId
          ? { key: "folder_id", label: "Folder", render: (v) => folderPath(v.folder_id) }
          : { key: "project_id", label: "Project", render: (v) => projectName(v.project_id) };
        replace(listSlot, table([
          { key: "title", label: "Title",
            render: (v) => h("a", { href: href("video", v.id, keep) }, v.title || v.id) },
          where,
          { key: "id", label: "ID", render: (v) => h("code", {}, v.id) },
          { key: "duration", label: "Duration", num: true, render: (v) => (v.duration ? fmtClock(v.duration) : "–") },
        ], videos, { caption: "Videos", rowKey: (v) => v.id }),
        pager(payload.meta?.pagination, (p) => patch({ page: p })));
      },
    },
    {
      name: "streams", slot: streamSlot,
      key: (route) => String(route.params.get("project_id")),
      async run(route, signal) {
        const payload = await get("/v1/streams", { project_id: route.params.get("project_id"), per_page: 1000 }, signal);
        const streams = rows(payload);
        const keep = shared(route);
        replace(streamSlot, streams.length
          ? table([
            { key: "title", label: "Title",
              render: (s) => h("a", { href: href("stream", s.id, keep) }, s.title || s.id) },
            { key: "id", label: "ID", render: (s) => h("code", {}, s.id) },
          ], streams, { caption: "Streams", rowKey: (s) => s.id })
          : message("info", "No streams here."));
      },
    },
  ]);

  return {
    title: "Catalog",
    update(route) {
      return runner.update(route);
    },
    destroy() {
      runner.destroy();
    },
  };
}
