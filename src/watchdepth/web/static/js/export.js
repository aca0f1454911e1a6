// The "Export report" dialog: period, folders, fields, format and an optional e-mail,
// sent to POST /v1/analytics/exports; then the job's status is polled until its
// download link is ready.

import { get, post, rows } from "./api.js";
import { h, nextId, replace } from "./dom.js";
import { PERIODS, addDays } from "./period.js";
import { filters, parse } from "./route.js";

export const EXPORT_FIELDS = [
  ["project_id", "Project ID"], ["project_name", "Project name"], ["video_id", "Video ID"],
  ["stream_id", "Stream ID"], ["event_id", "Broadcast ID"], ["title", "Title"], ["duration", "Duration"],
  ["folder_name", "Folder path"], ["folder_id", "Folder ID"], ["player_loads", "Player loads"],
  ["unique_views", "Unique impressions"], ["views", "Views"], ["total_watch_time", "Total watch time"],
  ["avg_watch_time", "Average watch time"], ["watch_depth", "Watch depth"],
  ["peak_concurrent_viewers", "Peak concurrent viewers"],
];
// docs/metrics.md §7, after the fields above in the export's column order (export/source.py)
export const QUALITY_FIELDS = [
  ["startup_time", "Startup time (median)"], ["startup_time_p90", "Startup time (p90)"],
  ["buffering_count", "Rebuffering count"], ["buffering_time", "Rebuffering time"], ["rebuffer_ratio", "Rebuffering ratio"],
  ["playback_failures", "Playback failures"], ["failure_rate", "Failure rate"],
  ["exits_before_start", "Exits before start"],
];
const POLL_MS = 1500;

function fieldset(legend, ...children) {
  return h("fieldset", { class: "dialog-group" }, h("legend", {}, legend), ...children);
}

function checkbox(name, value, label, checked = true) {
  const id = nextId(name);
  return h("div", { class: "check" }, h("input", { type: "checkbox", id, name, value, checked }),
    h("label", { for: id }, label));
}

async function folderChoices(container) {
  try {
    const projects = rows(await get("/v1/projects", { per_page: 1000 }));
    const blocks = await Promise.all(projects.map(async (p) => {
      const folders = rows(await get("/v1/folders", { project_id: p.id, per_page: 1000 }));
      const depth = (f) => {
        let d = 0;
        for (let cur = f; cur?.parent_id; cur = folders.find((x) => x.id === cur.parent_id)) d += 1;
        return d;
      };
      const ordered = [];
      const walk = (parent) => folders.filter((f) => (f.parent_id ?? null) === parent)
        .sort((a, b) => String(a.name).localeCompare(String(b.name)))
        .forEach((f) => { ordered.push(f); walk(f.id); });
      walk(null);
      return h("div", { class: "folder-project" }, h("p", { class: "folder-project-name" }, p.name || p.id),
        ordered.length ? ordered.map((f) => {
          const box = checkbox("folder", f.id, f.name, false);
          box.classList.add(`indent-${Math.min(depth(f), 4)}`);
          return box;
        }) : h("p", { class: "muted" }, "No folders"));
    }));
    replace(container, blocks.length ? blocks : h("p", { class: "muted" }, "No projects yet."));
  } catch {
    replace(container, h("p", { class: "muted" }, "Folders could not be loaded; the export will cover everything."));
  }
}

const MAIL_STATE = {
  pending: "The link will be e-mailed to {to}.", sending: "E-mailing the link to {to}…", sent: "The link was e-mailed to {to}.",
  failed: "The e-mail to {to} could not be sent; use the download link.",
};
/** The server's answer when it has no SMTP settings (export/jobs.py submit). */
const NO_MAIL = "E-mail is not set up on this server, so nothing is mailed: use the download link.";

/** What the job's status says (export/routes.py job_view): status, progress, reason, mail. */
export function statusText(job, email) {
  const mail = email && MAIL_STATE[job.mail] ? ` ${MAIL_STATE[job.mail].replace("{to}", email)}` : "";
  if (job.download_url && job.status !== "done") {
    // The file is built; only the e-mail is still going, or it failed.
    const why = job.mail === "failed" && (job.reason || job.error) ? ` (${job.reason || job.error})` : "";
    return `The report is ready.${mail}${why}`;
  }
  if (job.status === "done") return `Done: the report is ready.${mail}`;
  if (job.status === "failed") return `The export failed${job.reason || job.error ? `: ${job.reason || job.error}` : ""}.`;
  const { rows_done: done, rows_total: total } = job.progress ?? {};
  const progress = total ? ` ${done ?? 0} of ${total} rows.` : "";
  return job.status === "running" ? `Preparing the report…${progress}` : "Queued…";
}

function buildDialog() {
  const titleId = nextId("export-title");
  const today = new Date().toISOString().slice(0, 10);
  const periodSel = h("select", { id: "export-period", name: "period" },
    PERIODS.map(([v, label]) => h("option", { value: v }, label)));
  const from = h("input", { type: "date", id: "export-from", name: "from", value: addDays(today, -29), max: today });
  const to = h("input", { type: "date", id: "export-to", name: "to", value: today, max: today });
  const range = h("div", { class: "custom-range", hidden: true },
    h("div", { class: "field" }, h("label", { for: "export-from" }, "From"), from),
    h("div", { class: "field" }, h("label", { for: "export-to" }, "To"), to));
  periodSel.addEventListener("change", () => { range.hidden = periodSel.value !== "custom"; });
  const folders = h("div", { class: "folder-list" }, h("p", { class: "muted" }, "Loading folders…"));
  const email = h("input", { type: "email", id: "export-email", name: "email", autocomplete: "email",
    placeholder: "you@example.com" });
  const status = h("div", { class: "export-status", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Start export");
  const form = h("form", { class: "dialog-body", method: "dialog" },
    h("div", { class: "field" }, h("label", { for: "export-period" }, "Period"), periodSel), range,
    fieldset("Folders (none ticked: all content)", folders),
    fieldset("Fields", h("div", { class: "check-grid" }, EXPORT_FIELDS.map(([v, label]) => checkbox("field", v, label)))),
    fieldset("Quality of experience",
      h("div", { class: "check-grid" }, QUALITY_FIELDS.map(([v, label]) => checkbox("field", v, label)))),
    fieldset("Format",
      h("div", { class: "check" }, h("input", { type: "radio", id: "export-csv", name: "format", value: "csv", checked: true }),
        h("label", { for: "export-csv" }, "CSV")),
      h("div", { class: "check" }, h("input", { type: "radio", id: "export-xlsx", name: "format", value: "xlsx" }),
        h("label", { for: "export-xlsx" }, "Excel (XLSX)"))),
    h("div", { class: "field" }, h("label", { for: "export-email" }, "E-mail the link to (optional)"), email),
    h("div", { class: "dialog-foot" }, status,
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", class: "btn", value: "cancel", onclick: () => dialog.close() }, "Close"), submit)));
  const dialog = h("dialog", { class: "dialog", id: "export-dialog", "aria-labelledby": titleId },
    h("h2", { id: titleId }, "Export report"),
    h("p", { class: "muted" }, "One row per video, stream and broadcast in the chosen folders and their subfolders."),
    form);
  let timer = null;

  async function follow(id, mail, note) {
    try {
      const job = (await get(`/v1/analytics/exports/${encodeURIComponent(id)}`)).data ?? {};
      replace(status, statusText(job, mail), note ? ` ${note}` : "");
      if (job.download_url) {
        status.append(" ", h("a", { href: job.download_url, class: "btn btn-primary" }, "Download report"));
      }
      const mailing = job.mail === "pending" || job.mail === "sending";
      if (job.status === "failed" || (job.status === "done" && !mailing)) {
        submit.disabled = false;
        status.dataset.state = job.status;
        return;
      }
    } catch (error) {
      replace(status, `Could not check the export: ${error.message}`);
      submit.disabled = false;
      return;
    }
    timer = setTimeout(() => follow(id, mail, note), POLL_MS);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!form.reportValidity()) return;
    const data = new FormData(form);
    const body = data.get("period") === "custom"
      ? { from: data.get("from"), to: addDays(data.get("to"), 1) } : { period: data.get("period") };  // `to` exclusive
    const folderIds = data.getAll("folder");
    if (folderIds.length) body.folder_ids = folderIds;
    body.fields = data.getAll("field");
    body.format = data.get("format");
    const zone = filters(parse()).tz; // the page's time zone choice, else the workspace's
    if (zone) body.timezone = zone;
    const mail = String(data.get("email") || "").trim();
    if (mail) body.email = mail;
    if (!body.fields.length) {
      replace(status, "Choose at least one field.");
      return;
    }
    submit.disabled = true;
    replace(status, "Starting…");
    status.dataset.state = "running";
    try {
      let job;
      let note = "";
      try {
        job = (await post("/v1/analytics/exports", body)).data ?? {};
      } catch (error) {
        if (!mailRefused(error)) throw error;
        delete body.email; // no SMTP on this server: the export goes on, with its link only
        job = (await post("/v1/analytics/exports", body)).data ?? {};
        note = NO_MAIL;
      }
      const to = note ? "" : mail;
      replace(status, statusText(job, to), note ? ` ${note}` : "");
      clearTimeout(timer);
      follow(job.id, to, note);
    } catch (error) {
      submit.disabled = false;
      status.dataset.state = "error";
      const missing = error.status === 404 || error.status === 405;
      const detail = (error.detail ?? []).map((p) => `${p.name}: ${p.message ?? p.reason}`).join("; ");
      replace(status, missing ? `Report exports are not available on this server (it answered ${error.status}).`
        : `The export could not start: ${error.message}${detail ? ` (${detail})` : ""}`);
    }
  });
  dialog.addEventListener("close", () => clearTimeout(timer));
  return { dialog, periodSel, range, folders, status, from, to };
}

/** A 400 that names `email` as unsupported: this server has no mail settings. */
function mailRefused(error) {
  return error.status === 400 && (error.detail ?? []).some((p) => p.name === "email" && p.reason === "unsupported");
}

let built = null;

/** Open the dialog with the page's current period preselected. */
export function openExport(opener) {
  if (!built) {
    built = buildDialog();
    document.body.append(built.dialog);
    built.dialog.addEventListener("close", () => opener?.focus());
  }
  const f = filters(parse());
  built.periodSel.value = f.period;
  built.range.hidden = f.period !== "custom";
  if (f.period === "custom") {
    built.from.value = f.from;
    built.to.value = f.to;
  }
  replace(built.status);
  folderChoices(built.folders);
  built.dialog.showModal();
}
