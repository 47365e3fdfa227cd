"""The model: hashable leaves that ignore ``path`` and keep types apart; env resolution."""

from __future__ import annotations

import pytest

from beachhead.rules.model import (
    AllCond,
    Band,
    Bands,
    Comparison,
    EventCond,
    Level,
    MissingEnvVar,
    Op,
    TraitCond,
    TraitRef,
    env_refs,
    iter_leaves,
    resolve_env,
)


def trait(value: object, path: str = "") -> TraitCond:
    return TraitCond(
        path=path,
        trait=TraitRef(scope=Level.ACCOUNT, keys=("plan",)),
        cmp=Comparison(op=Op.EQ, value=value),
    )


def test_path_does_not_take_part_in_equality() -> None:
    a, b = trait("free", "when.all[0]"), trait("free", "touch[1].when")
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1


def test_equality_is_typed() -> None:
    assert trait(1) == trait(1.0)
    assert trait(1) != trait(True)
    assert trait("1") != trait(1)


def test_groups_hash_and_iterate() -> None:
    g = AllCond(path="when", items=(trait("free", "when.all[0]"), EventCond(event="Signed Up")))
    assert hash(g) == hash(AllCond(items=(trait("free"), EventCond(event="Signed Up"))))
    assert [type(x).__name__ for x in iter_leaves(g)] == ["TraitCond", "EventCond"]
    assert EventCond(event="X").cmp == Comparison(op=Op.GTE, value=1)


def test_bands() -> None:
    b = Bands(high=70, medium=40)
    assert [b.band_of(p) for p in (70, 69.5, 40, -5)] == [
        Band.HIGH,
        Band.MEDIUM,
        Band.MEDIUM,
        Band.LOW,
    ]
    assert Bands(high=10).band_of(5) is Band.LOW


def test_resolve_env() -> None:
    env = {"HOOK": "https://hooks.example.com/1", "T": "x"}
    assert resolve_env("${HOOK}?t=${T}", env) == "https://hooks.example.com/1?t=x"
    assert resolve_env("no refs", env) == "no refs"
    assert env_refs("${A}/${B_2}") == ["A", "B_2"]
    with pytest.raises(MissingEnvVar, match="SLACK_WEBHOOK_URL") as info:
        resolve_env("${SLACK_WEBHOOK_URL}", env)
    assert info.value.name == "SLACK_WEBHOOK_URL"
