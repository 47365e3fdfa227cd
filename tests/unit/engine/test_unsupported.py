"""Honest gaps: what a backend cannot compute raises ``Unsupported`` naming it."""

from __future__ import annotations

from datetime import UTC, datetime

import ibis
import pytest

from beachhead.engine import Unsupported
from beachhead.engine.values import Ctx, compare, from_json
from beachhead.rules.model import Comparison, Op

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
TABLE = ibis.table({"j": "json"}, name="t")


def test_array_contains_without_list_lambdas_is_unsupported() -> None:
    ctx = Ctx(as_of=AS_OF, backend="duckdb", array_lambdas=False)
    with pytest.raises(Unsupported) as err:
        compare(from_json(TABLE.j["tags"]), Comparison(op=Op.CONTAINS, value="x"), ctx)
    assert err.value.backend == "duckdb"
    assert "array" in err.value.feature


@pytest.mark.parametrize("backend", ["sqlite", "bigquery"])
def test_regex_and_arrays_on_an_unchecked_backend_are_unsupported(backend: str) -> None:
    ctx = Ctx(as_of=AS_OF, backend=backend)
    value = from_json(TABLE.j["v"])
    for cmp in (Comparison(op=Op.MATCHES, value="^a"), Comparison(op=Op.CONTAINS, value=1)):
        with pytest.raises(Unsupported) as err:
            compare(value, cmp, ctx)
        assert err.value.backend == backend
        assert backend in str(err.value)


def test_supported_comparisons_compile_without_a_database() -> None:
    ctx = Ctx(as_of=AS_OF, backend="postgres")
    expr = compare(from_json(TABLE.j["v"]), Comparison(op=Op.MATCHES, value="(?i)^a.c$"), ctx)
    sql = str(ibis.to_sql(TABLE.select(m=expr), dialect="postgres"))
    assert "~" in sql
