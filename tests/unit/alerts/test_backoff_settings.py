"""Backoff schedule (deterministic with a fixed ``rand``) and alert settings parsing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from beachhead.alerts.deliver import backoff
from beachhead.alerts.settings import AlertSettings, parse_span

SETTINGS = AlertSettings(alert_backoff=timedelta(seconds=30), alert_backoff_max=timedelta(hours=1))


@pytest.mark.parametrize(
    ("attempts", "rand", "least", "seconds"),
    [
        (1, 1.0, 0, 30),  # jitter factor 0.5 + 0.5*rand: rand=1 -> the full delay
        (1, 0.0, 0, 15),  # rand=0 -> half of it
        (2, 1.0, 0, 60),
        (3, 0.5, 0, 90),  # 120 * 0.75
        (8, 1.0, 0, 3600),  # 30 * 2**7 = 3840, capped at 1h
        (20, 0.0, 0, 1800),  # capped, then jittered
        (1, 0.0, 120, 120),  # Retry-After raises the floor
    ],
)
def test_backoff(attempts: int, rand: float, least: float, seconds: float) -> None:
    assert backoff(attempts, SETTINGS, lambda: rand, least) == timedelta(seconds=seconds)


def test_backoff_grows_and_stays_within_bounds_for_any_jitter() -> None:
    for rand in (0.0, 0.3, 0.99):

        def fixed(r: float = rand) -> float:
            return r

        delays = [backoff(n, SETTINGS, fixed) for n in range(1, 12)]
        assert delays == sorted(delays)
        assert all(timedelta(seconds=15) <= d <= timedelta(hours=1) for d in delays)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("24h", 86400), ("1d", 86400), ("2w", 1209600), ("250ms", 0.25)],
)
def test_parse_span(text: str, seconds: float) -> None:
    assert parse_span(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "10", "-5m", "5 minutes"])
def test_parse_span_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="span like"):
        parse_span(text)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEACHHEAD_ALERT_GIVE_UP", "2h")
    monkeypatch.setenv("BEACHHEAD_ALERT_TIMEOUT", "30s")
    monkeypatch.setenv("BEACHHEAD_ALERT_LEASE", "10s")
    monkeypatch.setenv("BEACHHEAD_PUBLIC_URL", "https://app.example.com")
    s = AlertSettings()
    assert s.alert_give_up == timedelta(hours=2)
    assert s.public_url == "https://app.example.com"
    assert s.effective_lease == timedelta(seconds=60)  # at least twice the timeout
