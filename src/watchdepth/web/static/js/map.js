// The world map of the Countries breakdown: the vendored world-atlas 110m TopoJSON,
// decoded here and drawn as SVG paths in an equirectangular projection. Shading is
// views per country; the table beside it carries the exact numbers.

import { h, svg } from "./dom.js";
import { countryName, fmtInt } from "./format.js";

// ISO 3166-1 numeric (the atlas's ids) -> alpha-2 (the API's country codes).
const NUMERIC_TO_ALPHA2 =
  "004:AF,008:AL,010:AQ,012:DZ,024:AO,031:AZ,032:AR,036:AU,040:AT,044:BS,050:BD,051:AM,056:BE," +
  "064:BT,068:BO,070:BA,072:BW,076:BR,084:BZ,090:SB,096:BN,100:BG,104:MM,108:BI,112:BY,116:KH," +
  "120:CM,124:CA,140:CF,144:LK,148:TD,152:CL,156:CN,158:TW,170:CO,178:CG,180:CD,188:CR,191:HR," +
  "192:CU,196:CY,203:CZ,204:BJ,208:DK,214:DO,218:EC,222:SV,226:GQ,231:ET,232:ER,233:EE,238:FK," +
  "242:FJ,246:FI,250:FR,260:TF,262:DJ,266:GA,268:GE,270:GM,275:PS,276:DE,288:GH,300:GR,304:GL," +
  "320:GT,324:GN,328:GY,332:HT,340:HN,348:HU,352:IS,356:IN,360:ID,364:IR,368:IQ,372:IE,376:IL," +
  "380:IT,384:CI,388:JM,392:JP,398:KZ,400:JO,404:KE,408:KP,410:KR,414:KW,417:KG,418:LA,422:LB," +
  "426:LS,428:LV,430:LR,434:LY,440:LT,442:LU,450:MG,454:MW,458:MY,466:ML,478:MR,484:MX,496:MN," +
  "498:MD,499:ME,504:MA,508:MZ,512:OM,516:NA,524:NP,528:NL,540:NC,548:VU,554:NZ,558:NI,562:NE," +
  "566:NG,578:NO,586:PK,591:PA,598:PG,600:PY,604:PE,608:PH,616:PL,620:PT,624:GW,626:TL,630:PR," +
  "634:QA,642:RO,643:RU,646:RW,682:SA,686:SN,688:RS,694:SL,703:SK,704:VN,705:SI,706:SO,710:ZA," +
  "716:ZW,724:ES,728:SS,729:SD,732:EH,740:SR,748:SZ,752:SE,756:CH,760:SY,762:TJ,764:TH,768:TG," +
  "780:TT,784:AE,788:TN,792:TR,795:TM,800:UG,804:UA,807:MK,818:EG,826:GB,834:TZ,840:US,854:BF," +
  "858:UY,860:UZ,862:VE,887:YE,894:ZM";
const ALPHA2 = Object.fromEntries(NUMERIC_TO_ALPHA2.split(",").map((p) => p.split(":")));
const NAMED = { Kosovo: "XK" };
const SHADES = ["#e0e7ff", "#c7d2fe", "#a5b4fc", "#818cf8", "#6366f1", "#4338ca"];
const NO_DATA = "#eef0f3";
const TOP = 84;
const BOTTOM = -58;
const SCALE = 2;

let shapes = null;

function decodeArcs(topology) {
  const [sx, sy] = topology.transform.scale;
  const [tx, ty] = topology.transform.translate;
  return topology.arcs.map((arc) => {
    let x = 0;
    let y = 0;
    return arc.map(([dx, dy]) => {
      x += dx;
      y += dy;
      return [x * sx + tx, y * sy + ty];
    });
  });
}

function ring(arcs, indexes) {
  const points = [];
  for (const i of indexes) {
    const arc = i < 0 ? arcs[~i].slice().reverse() : arcs[i];
    points.push(...(points.length ? arc.slice(1) : arc));
  }
  // Unwrap longitudes across the antimeridian so a ring stays continuous.
  for (let i = 1; i < points.length; i += 1) {
    const d = points[i][0] - points[i - 1][0];
    if (Math.abs(d) > 180) points[i] = [points[i][0] - Math.sign(d) * 360, points[i][1]];
  }
  return points;
}

function pathOf(points, shift) {
  let d = "";
  for (let i = 0; i < points.length; i += 1) {
    const x = Math.round((points[i][0] + shift + 180) * SCALE * 10) / 10;
    const y = Math.round((TOP - points[i][1]) * SCALE * 10) / 10;
    d += `${i ? "L" : "M"}${x},${y}`;
  }
  return `${d}Z`;
}

function geometryPath(arcs, geometry) {
  const polygons = geometry.type === "Polygon" ? [geometry.arcs] : geometry.type === "MultiPolygon" ? geometry.arcs : [];
  const parts = [];
  for (const polygon of polygons) {
    for (const indexes of polygon) {
      const points = ring(arcs, indexes);
      parts.push(pathOf(points, 0));
      if (points.some(([lon]) => lon > 180)) parts.push(pathOf(points, -360));
      if (points.some(([lon]) => lon < -180)) parts.push(pathOf(points, 360));
    }
  }
  return parts.join("");
}

/** Fetch and decode the atlas once per page load (call early: it overlaps the API calls). */
export function loadShapes() {
  if (!shapes) {
    const base = document.body.dataset.static;
    shapes = fetch(`${base}/vendor/countries-110m.json`).then((r) => r.json()).then((topology) => {
      const arcs = decodeArcs(topology);
      return topology.objects.countries.geometries
        .map((g) => ({ code: ALPHA2[g.id] ?? NAMED[g.properties?.name] ?? null, name: g.properties?.name,
          d: geometryPath(arcs, g) }))
        .filter((s) => s.code !== "AQ");
    });
  }
  return shapes;
}

function shade(value, max) {
  if (!value) return NO_DATA;
  const i = Math.min(SHADES.length - 1, Math.floor((Math.log1p(value) / Math.log1p(max)) * (SHADES.length - 1)));
  return SHADES[Math.max(0, i)];
}

/** An SVG world map of `metric` per country (rows: [{country, views, ...}]). */
export async function worldMap(rows, metric = "views") {
  const byCode = new Map(rows.filter((r) => r.country).map((r) => [r.country, r]));
  const max = Math.max(1, ...rows.map((r) => Number(r[metric]) || 0));
  const list = await loadShapes();
  const width = 360 * SCALE;
  const height = (TOP - BOTTOM) * SCALE;
  const map = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "world-map", role: "img",
    "aria-label": `World map of ${metric.replace("_", " ")} by country; the table lists the numbers` },
  list.map((s) => {
    const row = byCode.get(s.code);
    const value = Number(row?.[metric]) || 0;
    return svg("path", { d: s.d, fill: shade(value, max), stroke: "#ffffff", "stroke-width": "0.6",
      dataset: { code: s.code ?? "" } },
    svg("title", {}, `${countryName(s.code, row?.name) || s.name}: ${fmtInt(value)}`));
  }));
  const legend = h("div", { class: "map-legend", "aria-hidden": "true" },
    h("span", {}, "Fewer"), SHADES.map((c) => h("span", { class: "swatch", dataset: { shade: c } })),
    h("span", {}, "More"));
  for (const sw of legend.querySelectorAll(".swatch")) sw.style.background = sw.dataset.shade;
  return h("div", { class: "map-wrap" }, map, legend);
}
