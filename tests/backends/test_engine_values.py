"""The engine's value semantics, row by row, against the oracle's, on DuckDB and PostgreSQL.

A table of JSON values (every kind: numbers, strings, booleans, null, arrays, objects,
ISO times good and bad) is uploaded once; every comparison operator is compiled with
``engine/values.py`` and must give, on each row, what ``rules/reference_values.compare``
gives in Python. ISO-8601 parsing (``engine/isotime.py``) is checked the same way against
``rules/durations.parse_iso_time``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from beachhead.engine import Unsupported, evaluate
from beachhead.engine.isotime import iso_micros, micros
from beachhead.engine.values import Ctx, compare, from_json
from beachhead.rules.durations import parse_iso_time, parse_time_ref
from beachhead.rules.model import Comparison, Config, Duration, Op
from beachhead.rules.reference_values import MISSING
from beachhead.rules.reference_values import compare as oracle_compare

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

VALUES: list[Any] = [
    1,
    1.0,
    1.5,
    -2,
    0,
    10**12,
    "1",
    "a",
    "",
    "abc",
    "ABC",
    "a%b_c",
    "null",
    True,
    False,
    None,
    [1, "a", True],
    ["x", 2.0],
    [],
    {"k": 1},
    "2026-02-01",
    "2026-02-28T23:59:59Z",
    "2026-03-01T12:00:00+01:00",
    "2026-03-01 11:00",
    "2026-02-30",
    "2026-13-01",
    "26-01-01",
    "2026-03-01T25:00:00Z",
    " 2026-01-01 ",
    "2026-01-01T00:00:00.1234567Z",
    "2024-02-29",
    "2023-02-29",
    "2026-03-01T10:00-0530",
    "line\nbreak",
]
ISO_TEXTS = [v for v in VALUES if isinstance(v, str)] + [
    "0001-01-01",
    "9999-12-31T23:59:59.999999Z",
    "2026-03-01T10:00+24:00",
    "2026-03-01T10:00:60",
    "2026-03-01t10:00",
    "2026-03-01T10:00:00z",
    "2026-03-01T10",
    "2000-02-29T00:00:00-00:30",
]


def _comparisons() -> list[Comparison]:
    scalars: list[Any] = [1, 1.0, "1", "a", True, False, "", 2.0]
    out = [Comparison(op=op, value=v) for op in (Op.EQ, Op.NE, Op.CONTAINS) for v in scalars]
    out += [
        Comparison(op=op, value=s)
        for op in (Op.STARTS_WITH, Op.ENDS_WITH)
        for s in ("a", "", "%", "b_c")
    ]
    out += [
        Comparison(op=op, value=n) for op in (Op.GT, Op.GTE, Op.LT, Op.LTE) for n in (0, 1, 1.5)
    ]
    out += [
        Comparison(op=Op.BETWEEN, value=(0, 1)),
        Comparison(op=Op.IN, value=()),
        Comparison(op=Op.IN, value=(1, "a", False)),
        Comparison(op=Op.NOT_IN, value=(1, "a")),
        Comparison(op=Op.EXISTS, value=True),
        Comparison(op=Op.EXISTS, value=False),
        Comparison(op=Op.MATCHES, value="^a"),
        Comparison(op=Op.MATCHES, value="(?i)^abc$"),
        Comparison(op=Op.MATCHES, value="b.*"),
        Comparison(op=Op.MATCHES, value="^[0-9]{4}-"),
        Comparison(op=Op.MATCHES, value="k$"),
        Comparison(op=Op.BEFORE, value=parse_time_ref("2026-02-15")),
        Comparison(op=Op.AFTER, value=parse_time_ref("2026-02-28T23:00:00Z")),
        Comparison(op=Op.BEFORE, value=parse_time_ref("1d ago")),
        Comparison(op=Op.AFTER, value=parse_time_ref("2h ago")),
    ]
    return out


COMPARISONS = _comparisons()


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def con(request: pytest.FixtureRequest) -> Iterator[ibis.BaseBackend]:
    if request.param == "duckdb":
        backend = ibis.duckdb.connect()
        backend.settings["lambda_syntax"] = "ENABLE_SINGLE_ARROW"
    else:
        url = request.getfixturevalue("pg_url")
        backend = ibis.connect(url)
    try:
        yield backend
    finally:
        backend.disconnect()


def _oracle_value(v: Any) -> Any:
    return MISSING if v is None else v


def test_every_operator_agrees_with_the_oracle(con: ibis.BaseBackend) -> None:
    data = pa.table(
        {
            "i": list(range(len(VALUES))),
            "j": [json.dumps({"v": v}) for v in VALUES[:15]]
            + [json.dumps({})]  # None: absent
            + [json.dumps({"v": v}) for v in VALUES[16:]],
        }
    )
    t = con.create_table("vals", data, temp=True)
    ctx = Ctx(as_of=AS_OF, backend=con.name)
    value = from_json(t.j.cast("json")["v"])
    cols = {f"c{k}": compare(value, cmp, ctx) for k, cmp in enumerate(COMPARISONS)}
    rows = t.select(t.i, **cols).order_by("i").to_pyarrow().to_pylist()
    diffs = []
    for row in rows:
        v = VALUES[row["i"]]
        for k, cmp in enumerate(COMPARISONS):
            want = oracle_compare(_oracle_value(v), cmp, AS_OF)
            if row[f"c{k}"] is not want:
                diffs.append(f"{v!r} {cmp.op} {cmp.value!r}: engine {row[f'c{k}']}, oracle {want}")
    assert diffs == []


def test_json_null_is_missing(con: ibis.BaseBackend) -> None:
    t = con.create_table("nulls", pa.table({"j": ['{"v": null}', "{}", '{"v": 0}']}), temp=True)
    ctx = Ctx(as_of=AS_OF, backend=con.name)
    value = from_json(t.j.cast("json")["v"])
    got = (
        t.select(
            e=compare(value, Comparison(op=Op.EXISTS, value=False), ctx),
            ne=compare(value, Comparison(op=Op.NE, value=1), ctx),
        )
        .to_pyarrow()
        .to_pylist()
    )
    assert got == [{"e": True, "ne": False}, {"e": True, "ne": False}, {"e": False, "ne": True}]


def test_iso_parsing_agrees_with_python(con: ibis.BaseBackend) -> None:
    t = con.create_table("iso", pa.table({"s": ISO_TEXTS}), temp=True)
    got = t.select(t.s, m=iso_micros(t.s)).to_pyarrow().to_pylist()
    for row in got:
        parsed = parse_iso_time(row["s"])
        want = None if parsed is None else micros(parsed)
        assert row["m"] == want, row["s"]


def test_within_on_a_time_column(con: ibis.BaseBackend) -> None:
    times = [AS_OF - timedelta(days=d) for d in (0, 1, 7)] + [AS_OF + timedelta(seconds=1)]
    t = con.create_table(
        "times",
        pa.table({"t": pa.array([x.replace(tzinfo=None) for x in times], pa.timestamp("us"))}),
        temp=True,
    )
    from beachhead.engine.values import from_time

    ctx = Ctx(as_of=AS_OF, backend=con.name)
    week = Duration(text="7d", delta=timedelta(days=7))
    got = t.select(w=compare(from_time(t.t), Comparison(op=Op.WITHIN, value=week), ctx))
    assert [r["w"] for r in got.to_pyarrow().to_pylist()] == [True, True, False, False]


def test_unsupported_backend_is_named() -> None:
    backend = ibis.sqlite.connect()
    with pytest.raises(Unsupported) as err:
        evaluate(backend, Config(), AS_OF)
    assert err.value.backend == "sqlite"
    assert "sqlite" in str(err.value)
