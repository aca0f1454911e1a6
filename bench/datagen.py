"""A fast synthetic-history generator: realistic events, credited facts and rollups, straight into a store.

Input: a store with a ``bulk_load(events, facts)`` method (Arrow tables whose columns are those of
``store.rows.events_table`` / ``facts_table``), a number of events and a seed. Output: a catalog
(5 projects, 20 folders, 10,000 videos of Zipf popularity) and ``n_events`` events over one year
ending ``END`` (time-ordered, ~8 events per player load, ~2.5 loads per session, 200 countries and
1,000 domains with pages, both skewed, a few platforms / OSes / browsers), with their facts
(one load credit per load, then one watch-time piece of up to 10 s per later event, the first
carrying the impression and the view), and the quality events of docs/metrics.md §7 with their
facts: a ``startup`` per load that plays (log-normal around 700 ms, slower on Safari), a
``stall`` in about one load in five, a fatal ``error`` in about 1 % (no startup then) and
another 2 % that leave before the first frame (the exits before start). Then
``store.maintain()`` (or ``rebuild_rollups``) rolls up.

It does not go through HTTP or the sessionizer (the facts follow docs/metrics.md's shapes, not
its rules; the quality events' ``seq`` follow the load's others rather than their times): it
is for measuring queries, not for checking numbers.

    python bench/datagen.py /work/benchdata/10M 10000000 [--seed 1]

The data dir then works with ``watchdepth serve --data DIR``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from watchdepth.sessionize.sessionizer import COARSE_BIN_MS, FINE_BIN_MS, FINE_UNTIL_MS

DAY_MS = 86_400_000
END_MS = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
START_MS = END_MS - 365 * DAY_MS
N_VIDEOS = 10_000
N_PROJECTS = 5
N_FOLDERS = 20
N_COUNTRIES = 200
N_DOMAINS = 1_000
CHUNK_EVENTS = 1_000_000
ROLL_EVERY = 10_000_000  # events between two maintain() calls
EVENTS_PER_LOAD = 8
NO_PLAY = 0.15  # share of loads that never play
STALL_P = 0.2  # share of playing loads with a stall
FAIL_P = 0.01  # share of playing loads with a fatal error before the first frame
LEAVE_P = 0.02  # share of playing loads that leave before the first frame
MEAN_K = NO_PLAY + (1 - NO_PLAY) * (2 + EVENTS_PER_LOAD - 1.7 + 1 - LEAVE_P + STALL_P)  # events per load

_TS = pa.timestamp("ms", tz="UTC")
PLATFORMS = ["desktop", "smartphone", "tablet", "tv"]
PLATFORM_P = [0.52, 0.38, 0.07, 0.03]
OSES = ["Windows", "Android", "iOS", "macOS", "Linux", "Chrome OS"]
OS_P = [0.38, 0.27, 0.2, 0.1, 0.04, 0.01]
BROWSERS = ["Chrome", "Safari", "Edge", "Firefox", "Yandex Browser", "Samsung Internet", "Opera"]
BROWSER_P = [0.55, 0.2, 0.08, 0.07, 0.05, 0.03, 0.02]


class BulkStore(Protocol):
    def bulk_load(self, events: pa.Table, facts: pa.Table) -> None: ...
    def catalog_put(self, table: str, row: dict[str, Any], *, create: bool) -> None: ...
    def maintain(self) -> None: ...


def _zipf(n: int, s: float = 1.0) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


def _country_codes() -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    head = ["US", "RU", "DE", "GB", "FR", "BR", "IN", "JP", "KZ", "UA", "PL", "TR", "IT", "ES", "NL", "CA"]
    rest = [a + b for a in letters for b in letters if a + b not in head]
    return head + rest[: N_COUNTRIES - len(head)]


def catalog(seed: int) -> dict[str, list[dict[str, Any]]]:
    """Projects, folders (half nested) and videos with durations of 30 s to 1 h."""
    rng = np.random.default_rng(seed)
    now = datetime.fromtimestamp(START_MS / 1000, UTC)
    projects = [{"id": f"p{i}", "name": f"Project {i}", "created_at": now} for i in range(N_PROJECTS)]
    folders = []
    for i in range(N_FOLDERS):
        parent = f"f{i - 1}" if i % 2 else None
        folders.append(
            {
                "id": f"f{i}",
                "project_id": f"p{(i // 2) % N_PROJECTS}",
                "parent_id": parent,
                "name": f"Folder {i}",
                "created_at": now,
            }
        )
    durations = np.clip(rng.lognormal(5.5, 1.0, N_VIDEOS), 30, 3600).round(1)
    videos = []
    for i in range(N_VIDEOS):
        f = int(rng.integers(N_FOLDERS + 4))
        folder = f"f{f}" if f < N_FOLDERS else None
        project = folders[f]["project_id"] if folder else f"p{i % N_PROJECTS}"
        videos.append(
            {
                "id": f"v{i:05d}",
                "kind": "video",
                "project_id": project,
                "folder_id": folder,
                "title": f"Video {i}",
                "duration": float(durations[i]),
                "stream_id": None,
                "created_at": now,
            }
        )
    return {"projects": projects, "folders": folders, "content": videos}


class World:
    """The fixed name tables chunks draw from."""

    def __init__(self, seed: int, videos: list[dict[str, Any]]) -> None:
        rng = np.random.default_rng(seed + 7)
        order = rng.permutation(N_VIDEOS)  # popularity rank -> video
        self.video_ids = pa.array([videos[i]["id"] for i in order])
        self.video_project = pa.array([videos[i]["project_id"] for i in order])
        self.video_duration = np.array([videos[i]["duration"] for i in order])
        self.video_p = _zipf(N_VIDEOS, 1.0)
        self.countries = pa.array(_country_codes())
        self.country_p = _zipf(N_COUNTRIES, 1.2)
        domains = [f"site{i}.example" if i % 3 else f"news{i}.example.org" for i in range(N_DOMAINS)]
        self.domain_p = _zipf(N_DOMAINS, 1.1)
        n_pages = np.minimum(1 + rng.zipf(1.6, N_DOMAINS), 40)
        self.page_first = np.concatenate([[0], np.cumsum(n_pages)[:-1]])
        self.page_count = n_pages
        pages = [f"{d}/{'watch' if j % 2 else 'post'}/{j}" for d, n in zip(domains, n_pages) for j in range(n)]
        self.domains = pa.array(domains)
        self.pages = pa.array(pages)
        self.page_domain = np.repeat(np.arange(N_DOMAINS), n_pages)


def _prefixed(prefix: str, ints: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(ints), pa.string()), "")


def chunk(
    world: World, rng: np.random.Generator, first_load: int, n_loads: int, t0: int, t1: int, first_seq: int
) -> tuple[pa.Table, pa.Table]:
    """Events and facts of ``n_loads`` player loads starting in ``[t0, t1)``, in time order."""
    k = np.where(rng.random(n_loads) < NO_PLAY, 1, 2 + rng.poisson(EVENTS_PER_LOAD - 1.7, n_loads))
    n = int(k.sum())
    load_t = np.sort(rng.integers(t0, t1, n_loads))
    loads = np.arange(first_load, first_load + n_loads)
    sessions = loads * 2 // 5  # ~2.5 loads per session
    # per-session dimensions: draw once per session, spread to its loads
    s_first, s_index = np.unique(sessions, return_inverse=True)
    ns = len(s_first)
    country = rng.choice(N_COUNTRIES, ns, p=world.country_p)[s_index]
    platform = rng.choice(len(PLATFORMS), ns, p=PLATFORM_P)[s_index]
    os_ = rng.choice(len(OSES), ns, p=OS_P)[s_index]
    browser = rng.choice(len(BROWSERS), ns, p=BROWSER_P)[s_index]
    video = rng.choice(N_VIDEOS, n_loads, p=world.video_p)
    domain = rng.choice(N_DOMAINS, n_loads, p=world.domain_p)
    page = world.page_first[domain] + (rng.random(n_loads) * world.page_count[domain]).astype(np.int64)
    has_url = rng.random(n_loads) < 0.9

    # events: one row per (load, j)
    li = np.repeat(np.arange(n_loads), k)
    j = np.arange(n) - np.repeat(np.cumsum(k) - k, k)
    dur = world.video_duration[video][li]
    position = np.minimum(np.maximum(j - 1, 0) * 10.0, dur)
    t = load_t[li] + j * 10_000
    last = j == k[li] - 1
    etype = np.where(j == 0, 0, np.where(j == 1, 1, np.where(last, np.where(position >= dur, 4, 3), 2)))
    types = pa.array(["load", "play", "progress", "pause", "ended"])
    url_ok = has_url[li]
    page_i = np.where(url_ok, page[li], 0)
    dom_i = np.where(url_ok, domain[li], 0)
    load_ids = _prefixed("l", loads)
    session_ids = _prefixed("s", s_first)
    ts = pa.array(t, pa.int64()).cast(_TS)
    # columns as (indices, dictionary): zero-copy dictionary arrays, taken again for facts
    idx: dict[str, tuple[np.ndarray, pa.Array, np.ndarray | None]] = {
        "content_id": (video[li], world.video_ids, None),
        "project_id": (video[li], world.video_project, None),
        "session_id": (s_index[li], session_ids, None),
        "load_id": (li, load_ids, None),
        "country": (country[li], world.countries, None),
        "platform": (platform[li], pa.array(PLATFORMS), None),
        "os": (os_[li], pa.array(OSES), None),
        "browser": (browser[li], pa.array(BROWSERS), None),
        "domain": (dom_i, world.domains, ~url_ok),
        "page": (page_i, world.pages, ~url_ok),
        "url": (page_i, pc.binary_join_element_wise("https://", world.pages, ""), ~url_ok),
    }

    def col(name: str, rows: np.ndarray | None = None) -> pa.Array:
        ind, dictionary, mask = idx[name]
        if rows is not None:
            ind = ind[rows]
            mask = mask[rows] if mask is not None else None
        return pa.DictionaryArray.from_arrays(pa.array(ind.astype(np.int32), mask=mask), dictionary)

    events = _broadcast(
        n,
        {
            "log_seq": pa.array(np.arange(first_seq, first_seq + n)),
            "status": pa.scalar("applied"),
            "run": pa.array(np.ones(n, np.int32), mask=j == 0),
            "type": pa.DictionaryArray.from_arrays(pa.array(etype.astype(np.int32)), types),
            "content_id": col("content_id"),
            "kind": pa.scalar("video"),
            "project_id": col("project_id"),
            "session_id": col("session_id"),
            "load_id": col("load_id"),
            "seq": pa.array(j),
            "t": ts,
            "received_at": ts,
            "stream_id": pa.nulls(n, pa.string()),
            "position": pa.array(position, mask=j == 0),
            "from_position": pa.nulls(n, pa.float64()),
            "duration": pa.array(dur),
            "content_duration": pa.array(dur),
            "url": col("url"),
            "external_id": pa.nulls(n, pa.string()),
            "id": pa.nulls(n, pa.string()),
            "ts": pa.array(t),
            **{name: col(name) for name in ("country", "platform", "os", "browser", "domain", "page")},
        },
    )

    # facts: the load credit (j == 0) and a watch piece per event after play (j >= 2)
    keep = np.flatnonzero((j == 0) | (j >= 2))
    fj = j[keep]
    piece_start = np.where(fj >= 2, np.maximum(0.0, (fj - 2) * 10.0), np.nan)
    piece_start = np.minimum(piece_start, dur[keep])
    piece_end = np.where(fj >= 2, position[keep], np.nan)
    wt = np.where(fj >= 2, piece_end - piece_start, 0.0)
    first_piece = fj == 2
    piece = fj >= 2
    imp_t = load_t[li[keep]] + 2 * 10_000  # the load's pair: its impression is its first piece
    last_type = etype[keep]
    facts = pa.table(
        {
            "t": pa.array(t[keep], pa.int64()).cast(_TS),
            **{name: col(name, keep) for name in ("content_id", "session_id", "load_id")},
            "player_loads": pa.array((fj == 0).astype(np.uint8)),
            "unique_views": pa.array(first_piece.astype(np.uint8)),
            "views": pa.array((first_piece & (wt >= 5.0)).astype(np.uint8)),
            "watch_time": pa.array(wt),
            "seg_start": pa.array(piece_start, mask=fj < 2),
            "seg_end": pa.array(piece_end, mask=fj < 2),
            **{name: col(name, keep) for name in ("country", "platform", "os", "browser", "domain", "page")},
            "external_id": pa.nulls(len(keep), pa.string()),
            # the cohort (docs/metrics.md §5): each piece's pair's impression time; its watch time
            "imp_t": pa.array(imp_t, pa.int64(), mask=~piece).cast(_TS),
            "cohort_wt": pa.array(wt),
            # event counts: player_init at the load; the play at the first piece (10 s late); a last pause
            "play": pa.array(first_piece.astype(np.uint8)),
            "pause": pa.array((piece & (last_type == 3)).astype(np.uint8)),
            "seek": pa.array(np.zeros(len(keep), np.uint8)),
            "replay": pa.array(np.zeros(len(keep), np.uint8)),
            "player_init": pa.array((fj == 0).astype(np.uint8)),
        }
    )
    nf = facts.num_rows
    for name, typ in (
        ("startups", pa.uint8()),
        ("stalls", pa.uint8()),
        ("stall_ms", pa.uint32()),
        ("failures", pa.uint8()),
        ("exits", pa.int8()),
    ):
        facts = facts.append_column(name, pa.array(np.zeros(nf), typ))
    facts = facts.append_column("startup_bin", pa.nulls(nf, pa.string()))
    q_events, q_facts = _quality(rng, k, load_t, browser, idx, first_seq + n, facts.schema)
    events = pa.concat_tables([events, q_events], promote_options="default")
    order = pc.sort_indices(events, [("t", "ascending"), ("log_seq", "ascending")])
    events = events.take(order).set_column(0, "log_seq", pa.array(np.arange(first_seq, first_seq + events.num_rows)))
    facts = pa.concat_tables([facts, q_facts], promote_options="default")
    facts = facts.take(pc.sort_indices(facts, [("t", "ascending")]))
    return events, facts


def _quality(
    rng: np.random.Generator,
    k: np.ndarray,
    load_t: np.ndarray,
    browser: np.ndarray,
    idx: dict[str, tuple[np.ndarray, pa.Array, np.ndarray | None]],
    first_seq: int,
    schema: pa.Schema,
) -> tuple[pa.Table, pa.Table]:
    """The §7 events and facts of the loads that play (``k`` events each, the play 10 s after
    the load): a first-play credit (exits +1 at its time), then a startup (exits -1), a
    fatal error, or nothing; stalls at a random heartbeat."""
    played = np.flatnonzero(k >= 2)
    play_t = load_t[played] + 10_000
    roll = rng.random(len(played))
    failed, left = roll < FAIL_P, (roll >= FAIL_P) & (roll < FAIL_P + LEAVE_P)
    started = ~(failed | left)
    slow = np.where(browser[played] == BROWSERS.index("Safari"), 1.4, 1.0)
    ms = np.minimum(rng.lognormal(np.log(700 * slow), 0.5), 9_000).astype(np.int64)
    width = np.where(ms < FINE_UNTIL_MS, FINE_BIN_MS, COARSE_BIN_MS)
    bins = (ms // width * width).astype(str)
    stalled = started & (k[played] >= 4) & (rng.random(len(played)) < STALL_P)
    stall_ms = np.minimum(rng.lognormal(np.log(1200), 0.8, len(played)), 60_000).astype(np.int64)
    beat = 2 + (rng.random(len(played)) * np.maximum(k[played] - 3, 1)).astype(np.int64)  # a heartbeat's j
    # one row per quality event: (load index, type code, t, ms); types: startup, stall, error
    parts = [
        (played[started], 0, play_t[started] + ms[started], ms[started]),
        (played[stalled], 1, load_t[played[stalled]] + beat[stalled] * 10_000 + stall_ms[stalled], stall_ms[stalled]),
        (played[failed], 2, play_t[failed] + 1_000, np.zeros(int(failed.sum()), np.int64)),
    ]
    li = np.concatenate([p[0] for p in parts])
    typ = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    t = np.concatenate([p[2] for p in parts])
    q_ms = np.concatenate([p[3] for p in parts])
    nq = len(li)
    seq = k[li] + (typ == 1)  # after the load's other events (a stalled load has a startup before)

    def col(name: str, rows: np.ndarray) -> pa.Array:
        ind, dictionary, mask = idx[name]
        first = _first_rows(idx["load_id"][0])
        ind, mask = ind[first][rows], (mask[first][rows] if mask is not None else None)
        return pa.DictionaryArray.from_arrays(pa.array(ind.astype(np.int32), mask=mask), dictionary)

    dims = ("country", "platform", "os", "browser", "domain", "page")
    ts = pa.array(t, pa.int64()).cast(_TS)
    is_error = typ == 2
    events = pa.table(
        {
            "log_seq": pa.array(np.arange(first_seq, first_seq + nq)),
            "status": pa.repeat(pa.scalar("applied"), nq),
            "type": pa.DictionaryArray.from_arrays(
                pa.array(typ.astype(np.int32)), pa.array(["startup", "stall", "error"])
            ),
            **{name: col(name, li) for name in ("content_id", "project_id", "session_id", "load_id", "url", *dims)},
            "kind": pa.repeat(pa.scalar("video"), nq),
            "seq": pa.array(seq),
            "t": ts,
            "received_at": ts,
            "ts": pa.array(t),
            "ms": pa.array(q_ms.astype(np.int32), mask=is_error),
            "code": pa.array(np.where(is_error, "MEDIA_ERR_NETWORK", None), pa.string()),
            "fatal": pa.array(np.where(is_error, True, None), pa.bool_()),
        }
    )
    # facts: the first play (exits +1 at its imp_t), and one credit per quality event
    f_li = np.concatenate([played, li])
    f_t = np.concatenate([play_t, t])
    f_typ = np.concatenate([np.full(len(played), -1), typ])
    f_ms = np.concatenate([np.zeros(len(played), np.int64), q_ms])
    f_imp = np.concatenate([play_t, play_t[np.searchsorted(played, li)]])
    cohort = (f_typ == -1) | (f_typ == 0)
    start_bins = np.concatenate(
        [
            np.full(len(played), None),
            np.where(typ == 0, np.concatenate([bins[started], np.full(nq - int(started.sum()), "")]), None),
        ]
    )
    nf = len(f_li)
    zeros = np.zeros(nf, np.uint8)
    facts = pa.table(
        {
            "t": pa.array(f_t, pa.int64()).cast(_TS),
            **{name: col(name, f_li) for name in ("content_id", "session_id", "load_id", *dims)},
            **{
                name: pa.array(zeros)
                for name in ("player_loads", "unique_views", "views", "play", "pause", "seek", "replay", "player_init")
            },
            "watch_time": pa.array(np.zeros(nf)),
            "cohort_wt": pa.array(np.zeros(nf)),
            "seg_start": pa.nulls(nf, pa.float64()),
            "seg_end": pa.nulls(nf, pa.float64()),
            "external_id": pa.nulls(nf, pa.string()),
            "imp_t": pa.array(f_imp, pa.int64(), mask=~cohort).cast(_TS),
            "startups": pa.array((f_typ == 0).astype(np.uint8)),
            "startup_bin": pa.array(start_bins, pa.string()),
            "stalls": pa.array((f_typ == 1).astype(np.uint8)),
            "stall_ms": pa.array(np.where(f_typ == 1, f_ms, 0).astype(np.uint32)),
            "failures": pa.array((f_typ == 2).astype(np.uint8)),
            "exits": pa.array(np.where(f_typ == -1, 1, np.where(f_typ == 0, -1, 0)).astype(np.int8)),
        }
    )
    return events, facts.select(
        [name for name in schema.names if name in facts.column_names]
        + [name for name in facts.column_names if name not in schema.names]
    )


def _first_rows(load_index: np.ndarray) -> np.ndarray:
    """Row of each load's first event, by load index (rows are grouped by load, in order)."""
    return np.flatnonzero(np.concatenate([[True], load_index[1:] != load_index[:-1]]))


def _broadcast(n: int, cols: dict[str, Any]) -> pa.Table:
    out = {}
    for name, v in cols.items():
        if isinstance(v, pa.Scalar):
            v = pa.repeat(v, n)
        out[name] = v
    return pa.table(out)


def generate(store: BulkStore, n_events: int, seed: int = 1, progress: bool = True) -> dict[str, float]:
    """Fill ``store`` with a catalog and ``n_events`` events (plus facts), then roll up.

    Returns timings in seconds and the row counts.
    """
    cat = catalog(seed)
    for table in ("projects", "folders", "content"):
        if hasattr(store, "catalog_bulk"):
            store.catalog_bulk(table, cat[table])
        else:
            for row in cat[table]:
                store.catalog_put(table, row, create=True)
    world = World(seed, cat["content"])
    rng = np.random.default_rng(seed)
    span = END_MS - START_MS - 3_600_000  # the last loads end before END_MS
    written = facts = 0
    rollup_s = 0.0
    started = time.perf_counter()
    first_load = 0
    while written < n_events:
        want = min(CHUNK_EVENTS, n_events - written)
        n_loads = max(1, int(want / MEAN_K * 1.02) + 10)
        t0 = START_MS + span * written // n_events
        t1 = START_MS + span * (written + want) // n_events
        ev, fa = chunk(world, rng, first_load, n_loads, int(t0), int(max(t1, t0 + 1)), written + 1)
        if ev.num_rows > want:
            ev = ev.slice(0, want)
            last_t = ev["t"][want - 1]
            fa = fa.filter(pc.less_equal(fa["t"], last_t))
        store.bulk_load(ev, fa)
        if (written // ROLL_EVERY) != ((written + ev.num_rows) // ROLL_EVERY):
            t = time.perf_counter()
            store.maintain()  # roll up as we go: bounded work per step, as in serve
            rollup_s += time.perf_counter() - t
        first_load += n_loads
        written += ev.num_rows
        facts += fa.num_rows
        if progress:
            rate = written / (time.perf_counter() - started)
            print(f"{written:>13,} / {n_events:,} events  {rate:,.0f}/s", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    t = time.perf_counter()
    store.maintain()
    rollup_s += time.perf_counter() - t
    load_s = time.perf_counter() - started - rollup_s
    return {"events": written, "facts": facts, "load_s": load_s, "rollup_s": rollup_s}


def replicate(target: Path, source: Path, times: int) -> dict[str, float]:
    """A bigger data dir from a smaller one, inside DuckDB (generating 100M events through Python
    did not fit the time on a busy machine): the source's events once, and ``times`` copies of
    its facts, copy ``i`` with its videos permuted (video number r -> (r × 7919 + i × 1237) mod
    10,000, so each copy has its own popular videos) and its times shifted by i × 6 minutes;
    rolled up after each copy. The events log is not read by dashboard queries.
    """
    import duckdb

    from watchdepth.store.duckdb import DuckDBStore

    DuckDBStore(target).close()
    con = duckdb.connect(str(target))
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    for table in ("projects", "folders", "content", "events"):
        con.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
    con.close()
    started = time.perf_counter()
    con = duckdb.connect(str(target))
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    for i in range(times):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE vmap AS SELECT 'v' || lpad(r::VARCHAR, 5, '0') AS old,
            'v' || lpad(((r * 7919 + {i} * 1237) % 10000)::VARCHAR, 5, '0') AS new FROM range(10000) t(r)""")
        con.execute(f"""INSERT INTO facts BY NAME SELECT f.* REPLACE (f.t + INTERVAL '{i * 6} minutes' AS t,
            f.imp_t + INTERVAL '{i * 6} minutes' AS imp_t, coalesce(m.new, f.content_id) AS content_id)
            FROM src.facts f LEFT JOIN vmap m ON m.old = f.content_id""")
        print(f"copy {i + 1}/{times}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    con.close()
    load_s = time.perf_counter() - started
    t = time.perf_counter()
    store = DuckDBStore(target)
    store.maintain()
    store.close()
    rollup_s = time.perf_counter() - t
    n = duckdb.connect(str(target), read_only=True).execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
    return {"events": n, "load_s": load_s, "rollup_s": rollup_s}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("events", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--replicate",
        type=Path,
        metavar="SOURCE_DIR",
        help="copy SOURCE_DIR's facts events/|SOURCE| times with variations (its events once)",
    )
    args = ap.parse_args(argv)
    import duckdb

    from watchdepth.store.duckdb import DuckDBStore

    args.data_dir.mkdir(parents=True, exist_ok=True)
    path = args.data_dir / "watchdepth.duckdb"
    if path.exists():
        print(f"{path} exists; remove it first", file=sys.stderr)
        return 1
    if args.replicate:
        src = args.replicate / "watchdepth.duckdb"
        n_src = duckdb.connect(str(src), read_only=True).execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
        got = replicate(path, src, max(1, round(args.events / n_src)))
        got["facts"] = duckdb.connect(str(path), read_only=True).execute("SELECT count(*) FROM facts").fetchone()[0]  # type: ignore[index]
    else:
        store = DuckDBStore(path)
        got = generate(store, args.events, args.seed)
        store.close()
    size = path.stat().st_size / 1e9
    print(
        f"{got['events']:,} events, {got['facts']:,} facts: load {got['load_s']:.0f} s "
        f"({got['events'] / got['load_s']:,.0f} events/s), rollups {got['rollup_s']:.0f} s, file {size:.2f} GB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
