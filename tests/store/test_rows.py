"""The two ways from a batch to rows agree: JSON lines through pyarrow (the journal's way,
``encode`` then ``journal_tables``) and the direct conversion (``arrow_tables``).

Generated batches carry what JSON could bend: any Unicode (NUL, quotes, backslashes, emoji),
floats of every magnitude, the int64 limits, and nulls everywhere a column allows them.
"""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from watchdepth.collect.event import Event
from watchdepth.sessionize import Credit
from watchdepth.store.base import WriteBatch
from watchdepth.store.rows import arrow_tables, encode, journal_tables

text = st.text(max_size=12)
maybe_text = st.none() | text
number = st.floats(allow_nan=False, allow_infinity=False)
maybe_number = st.none() | number
millis = st.integers(0, 253_402_300_799_999)  # up to 9999-12-31
int64 = st.integers(-(2**63), 2**63 - 1)

events = st.builds(
    Event,
    type=text,
    content_id=text,
    kind=text,
    project_id=text,
    session_id=text,
    load_id=text,
    seq=int64,
    t=millis,
    received_at=millis,
    stream_id=maybe_text,
    position=maybe_number,
    from_=maybe_number,
    duration=maybe_number,
    content_duration=maybe_number,
    url=maybe_text,
    external_id=maybe_text,
    id=maybe_text,
    ts=st.none() | int64,
    country=maybe_text,
    platform=maybe_text,
    os=maybe_text,
    browser=maybe_text,
    domain=maybe_text,
    page=maybe_text,
    ms=st.none() | st.integers(0, 3_600_000),
    code=maybe_text,
    message=maybe_text,
    fatal=st.none() | st.booleans(),
    bot=st.booleans(),
)
credits = st.builds(
    Credit,
    millis,
    text,
    text,
    text,
    st.integers(0, 1),
    st.integers(0, 1),
    st.integers(0, 1),
    number,
    maybe_number,
    maybe_number,
    st.tuples(*[maybe_text] * 8),
    st.none() | millis,
    number,
    *[st.integers(0, 1)] * 5,
    st.integers(0, 1),
    maybe_text,
    st.integers(0, 1),
    st.integers(0, 3_600_000),
    st.integers(0, 1),
    st.integers(-1, 1),
)


@st.composite
def batches(draw: st.DrawFn) -> WriteBatch:
    evs = draw(st.lists(events, min_size=1, max_size=6))
    first = draw(st.integers(1, 2**40))
    return WriteBatch(
        evs,
        draw(st.lists(st.sampled_from(["applied", "late", "bot"]), min_size=len(evs), max_size=len(evs))),
        draw(st.lists(st.none() | st.integers(1, 2**31 - 1), min_size=len(evs), max_size=len(evs))),
        list(range(first, first + len(evs))),
        draw(st.lists(credits, max_size=6)),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(batches(), min_size=1, max_size=3))
def test_journal_rows_equal_the_direct_conversion(parts: list[WriteBatch]) -> None:
    got_events, got_facts = journal_tables([encode(b) for b in parts])
    direct = [arrow_tables(b) for b in parts]
    want_events = pa.concat_tables([e for e, _ in direct])
    want_facts = pa.concat_tables([f for _, f in direct])
    assert got_events.schema == want_events.schema
    assert got_events.to_pylist() == want_events.to_pylist()
    assert got_facts.schema == want_facts.schema
    assert got_facts.to_pylist() == want_facts.to_pylist()
