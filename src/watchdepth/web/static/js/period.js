// Periods and time zones: which API parameters a period becomes, and the previous
// period it is compared with. Pure functions of (period, time zone, now), so tests
// can call them with a fixed clock.
//
// The current period is sent to the API by name (`period=last_month`), so the server
// alone defines it. The previous period is computed here, in the chosen time zone:
// the same calendar unit one step back, cut to the same elapsed length for periods
// that run up to now ("this month" so far vs the same stretch of last month).
// analytics.js checks it against the server's own `meta.time` and falls back to
// "the same length just before" when the two disagree.

export const PERIODS = [
  ["today", "Today"],
  ["yesterday", "Yesterday"],
  ["last_24_hours", "Last 24 hours"],
  ["this_week", "This week"],
  ["last_week", "Last week"],
  ["this_month", "This month"],
  ["last_month", "Last month"],
  ["last_year", "Last year"],
  ["all_time", "All time"],
  ["custom", "Custom range"],
];
export const PERIOD_LABEL = Object.fromEntries(PERIODS);
export const GROUP_TIMES = [["hour", "Hourly"], ["day", "Daily"], ["week", "Weekly"], ["month", "Monthly"]];
export const DEFAULT_PERIOD = "this_month";

const TO_DATE = new Set(["today", "this_week", "this_month"]);
const WEEKDAY = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
const HOUR = 3600e3;
const DAY = 24 * HOUR;
const formatters = new Map();

function formatter(tz) {
  if (!formatters.has(tz)) {
    formatters.set(tz, new Intl.DateTimeFormat("en-US", {
      timeZone: tz, hourCycle: "h23", weekday: "short",
      year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric",
    }));
  }
  return formatters.get(tz);
}

/** Wall-clock fields of an instant in a time zone. */
export function wallClock(ms, tz) {
  const p = Object.fromEntries(formatter(tz).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { y: +p.year, m: +p.month, d: +p.day, hh: +p.hour, mm: +p.minute, ss: +p.second, wd: WEEKDAY[p.weekday] };
}

function offsetAt(ms, tz) {
  const w = wallClock(ms, tz);
  return Date.UTC(w.y, w.m - 1, w.d, w.hh, w.mm, w.ss) - Math.floor(ms / 1000) * 1000;
}

/** The instant of a wall-clock time in a zone; fields may overflow (day 0, month 13). */
export function zoned(tz, y, m, d, hh = 0, mm = 0) {
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  const first = offsetAt(guess, tz);
  let t = guess - first;
  const second = offsetAt(t, tz);
  if (second !== first) t = guess - second;
  return t;
}

/** RFC 3339 UTC without milliseconds. */
export function iso(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function dateParts(ymd) {
  const [y, m, d] = ymd.split("-").map(Number);
  return { y, m, d };
}

/** Calendar date (YYYY-MM-DD) n days after ymd. */
export function addDays(ymd, n) {
  const { y, m, d } = dateParts(ymd);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/**
 * {current: [fromMs, toMs] | null, previous: [fromMs, toMs] | null, toDate: bool}
 * Ranges are half-open. `from`/`to` (YYYY-MM-DD, `to` inclusive) are for "custom".
 */
export function ranges(period, tz, now, from, to) {
  const zone = tz || "UTC";
  const w = wallClock(now, zone);
  const day = (n) => zoned(zone, w.y, w.m, w.d + n);
  const monday = -w.wd;
  const spans = {
    today: [day(0), now, day(-1)],
    yesterday: [day(-1), day(0), day(-2), day(-1)],
    last_24_hours: [now - DAY, now, now - 2 * DAY, now - DAY],
    this_week: [day(monday), now, day(monday - 7)],
    last_week: [day(monday - 7), day(monday), day(monday - 14), day(monday - 7)],
    this_month: [zoned(zone, w.y, w.m, 1), now, zoned(zone, w.y, w.m - 1, 1)],
    last_month: [zoned(zone, w.y, w.m - 1, 1), zoned(zone, w.y, w.m, 1),
      zoned(zone, w.y, w.m - 2, 1), zoned(zone, w.y, w.m - 1, 1)],
    last_year: [zoned(zone, w.y - 1, 1, 1), zoned(zone, w.y, 1, 1),
      zoned(zone, w.y - 2, 1, 1), zoned(zone, w.y - 1, 1, 1)],
  };
  if (period === "custom") {
    if (!from || !to) return { current: null, previous: null, toDate: false };
    const f = dateParts(from);
    const t = dateParts(addDays(to, 1));
    const days = Math.round((Date.UTC(t.y, t.m - 1, t.d) - Date.UTC(f.y, f.m - 1, f.d)) / DAY);
    const start = zoned(zone, f.y, f.m, f.d);
    return {
      current: [start, zoned(zone, t.y, t.m, t.d)],
      previous: [zoned(zone, f.y, f.m, f.d - days), start],
      toDate: false,
    };
  }
  const span = spans[period];
  if (!span) return { current: null, previous: null, toDate: false };
  const [curFrom, curTo, prevFrom, prevTo] = span;
  const toDate = TO_DATE.has(period);
  const previous = toDate ? [prevFrom, Math.min(prevFrom + (curTo - curFrom), curFrom)] : [prevFrom, prevTo];
  return { current: [curFrom, curTo], previous, toDate };
}

/** The previous period taken from the server's own range: the same length just before. */
export function previousFromServer(meta, now) {
  const from = Date.parse(meta?.from);
  const to = Math.min(Date.parse(meta?.to), now);
  if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) return null;
  return [from - (to - from), from];
}

/** Whether the server's range is the one we computed (so our previous period fits it). */
export function agrees(meta, computed, toDate) {
  if (!computed || !meta) return true;
  const from = Date.parse(meta.from);
  const to = Date.parse(meta.to);
  if (Math.abs(from - computed[0]) > 1000) return false;
  return toDate || !Number.isFinite(to) || Math.abs(to - computed[1]) <= 1000;
}

export function defaultGroupTime(period, from, to) {
  if (["today", "yesterday", "last_24_hours"].includes(period)) return "hour";
  if (["last_year", "all_time"].includes(period)) return "month";
  if (period === "custom" && from && to) {
    const days = (Date.parse(to) - Date.parse(from)) / DAY + 1;
    if (days <= 2) return "hour";
    if (days <= 92) return "day";
    if (days <= 731) return "week";
    return "month";
  }
  return "day";
}

/** API query parameters for the current period. */
export function periodParams(state) {
  const params = { timezone: state.tz || null };
  if (state.period === "custom") {
    // The picker's last day is included; the API's bare-date `to` is exclusive (docs/api.md "Dates").
    params.from = state.from;
    params.to = state.to ? addDays(state.to, 1) : state.to;
  } else {
    params.period = state.period;
  }
  return params;
}

export function rangeParams(range, tz) {
  return range ? { from: iso(range[0]), to: iso(range[1]), timezone: tz || null } : null;
}

/** Time zones for the picker: the browser's list, UTC and the browser's own zone first. */
export function timeZones() {
  const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return [...new Set(["UTC", local, ...all].filter(Boolean))];
}

export function describeRange(range, tz) {
  if (!range) return "";
  const opts = { dateStyle: "medium", timeZone: tz || "UTC" };
  const fmt = new Intl.DateTimeFormat("en-GB", opts);
  const end = range[1] - 1;
  const a = fmt.format(new Date(range[0]));
  const b = fmt.format(new Date(end));
  return a === b ? a : `${a} – ${b}`;
}
