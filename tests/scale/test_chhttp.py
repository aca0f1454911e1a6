"""The ClickHouse HTTP stand-in, driven by the real ``clickhouse-connect`` HTTP client.

What the topology tests rely on: ping, queries with both kinds of parameters, inserts as
the client sends them (Native rows, Arrow, lz4-compressed, chunked), the database of the
connection, and ClickHouse-style errors that the client raises as ``DatabaseError``.
"""

from __future__ import annotations

import datetime as dt

import clickhouse_connect
import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

pytestmark = pytest.mark.clickhouse


def test_the_real_client_queries_and_inserts(chhttp_port: int) -> None:
    c = clickhouse_connect.get_client(host="127.0.0.1", port=chhttp_port)
    assert c.ping()
    c.command("CREATE DATABASE IF NOT EXISTS fx")
    c.command(
        "CREATE TABLE fx.t (a UInt64, s LowCardinality(String), f Nullable(Float64), "
        "ts DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY a"
    )
    n = 200_000  # several blocks, each its own lz4 frame, in one chunked body
    day = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    c.insert(
        "fx.t", [(i, f"s{i % 7}", None if i % 3 else i / 2, day) for i in range(n)], column_names=["a", "s", "f", "ts"]
    )
    c.insert_arrow(
        "fx.t",
        pa.table(
            {
                "a": pa.array([n, n + 1], pa.uint64()),
                "s": ["x", "y"],
                "f": [1.5, None],
                "ts": pa.array([0, 1], pa.timestamp("ms", "UTC")),
            }
        ),
    )
    # sum 0..n+1 = (n+1)(n+2)/2; nulls: i % 3 != 0 among 0..n-1 (133,333) plus one Arrow row
    assert c.query("SELECT count(), sum(a), countIf(f IS NULL) FROM fx.t").result_rows == [
        (n + 2, (n + 1) * (n + 2) // 2, 133_333 + 1)
    ]
    # server-side {name:Type} and client-side %(name)s parameters; the connection's database
    on = clickhouse_connect.get_client(host="127.0.0.1", port=chhttp_port, database="fx")
    assert on.query("SELECT count() FROM t WHERE s = {x:String}", parameters={"x": "s3"}).result_rows == [(28_571,)]
    assert on.query("SELECT count() FROM t WHERE a IN %(ids)s", parameters={"ids": [1, 2, n]}).result_rows == [(3,)]
    assert on.query_arrow("SELECT a FROM t WHERE a < 3 ORDER BY a").column("a").to_pylist() == [0, 1, 2]
    with pytest.raises(DatabaseError, match="nope"):
        on.query("SELECT nope FROM t")
    for client in (c, on):
        client.close()
