// How numbers look on the pages. Values arrive computed from the API (docs/metrics.md);
// this module only formats them and the change against the previous period.

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** The cards' metrics, in display order. kind: count | rate (a %) | duration (seconds). */
export const CARD_METRICS = [
  { key: "views", label: "Views", kind: "count",
    help: "Sessions that played a video for at least 5 seconds without a jump" },
  { key: "player_loads", label: "Player loads", kind: "count", help: "Players loaded on a page" },
  { key: "view_rate", label: "View rate", kind: "rate", help: "Views ÷ player loads" },
  { key: "unique_views", label: "Unique impressions", kind: "count",
    help: "Sessions in which playback started" },
  { key: "watch_time", label: "Watch time", kind: "duration",
    help: "Total time watched; a segment watched twice in a session counts once" },
  { key: "avg_watch_time", label: "Average watch time", kind: "duration",
    help: "Per session that started playback in the period: how long it watched, on average" },
  { key: "watch_depth", label: "Watch depth", kind: "rate",
    help: "Of the sessions that started a video in the period: share of the video they watched (0–100%)" },
];

/** Metrics the timeline has (docs/api.md overview timeline: every bucket has each card's metric). */
export const TIMELINE_METRICS = CARD_METRICS;

export const METRIC = Object.fromEntries(CARD_METRICS.map((m) => [m.key, m]));

export function fmtInt(n) {
  return integer.format(Number(n) || 0);
}

export function fmtPercent(n) {
  return `${integer.format(Number(n) || 0)}%`;
}

/** 42 -> "42s", 754 -> "12m 34s", 2700 -> "45m", 9000 -> "2h 30m", 360000 -> "100h" (hours, then minutes). */
export function fmtDuration(seconds) {
  const total = Math.round(Number(seconds) || 0);
  if (total < 60) return `${total}s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h === 0) return s ? `${m}m ${s}s` : `${m}m`;
  return m ? `${integer.format(h)}h ${m}m` : `${integer.format(h)}h`;
}

/** Clock-style position for retention axes: 75 -> "1:15", 3725 -> "1:02:05". */
export function fmtClock(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function fmtMetric(key, value) {
  const kind = METRIC[key]?.kind ?? "count";
  if (kind === "rate") return fmtPercent(value);
  if (kind === "duration") return fmtDuration(value);
  return fmtInt(value);
}

function roundHalfUp(x) {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/**
 * Change of a metric against the previous period.
 * Counts and durations: relative, "+20%". Rates: difference in percentage points, "+3 pp".
 * Returns {text, dir: "up"|"down"|"flat"|"none", words} (words: for screen readers).
 */
export function change(key, current, previous) {
  if (previous == null || current == null) return { text: "–", dir: "none", words: "no comparison" };
  const cur = Number(current);
  const prev = Number(previous);
  let delta;
  let unit;
  if (METRIC[key]?.kind === "rate") {
    delta = roundHalfUp(cur - prev);
    unit = " pp";
  } else if (prev === 0) {
    if (cur === 0) return { text: "0%", dir: "flat", words: "no change" };
    return { text: "new", dir: "up", words: "up from zero" };
  } else {
    delta = roundHalfUp(((cur - prev) / prev) * 100);
    unit = "%";
  }
  if (delta === 0) return { text: `0${unit}`, dir: "flat", words: "no change" };
  const text = `${delta > 0 ? "+" : "−"}${integer.format(Math.abs(delta))}${unit}`;
  return { text, dir: delta > 0 ? "up" : "down", words: `${delta > 0 ? "up" : "down"} ${text.slice(1)}` };
}

export function fmtDateTime(iso, tz, seconds = false) {
  const opts = { dateStyle: "medium", timeStyle: seconds ? "medium" : "short" };
  if (tz) opts.timeZone = tz;
  return new Intl.DateTimeFormat("en-GB", opts).format(new Date(iso));
}

const regionNames = new Intl.DisplayNames(["en"], { type: "region" });

export function countryName(code, fallback) {
  if (!code) return "Unknown";
  if (fallback) return fallback;
  try {
    return regionNames.of(code) ?? code;
  } catch {
    return code;
  }
}
