"""`delta_seconds`: an upstream `Retry-After` as the seconds the bridge reads (HTTP-dates converted at the edge)."""

from __future__ import annotations

import email.utils

import pytest

from gateway.upstream.client import delta_seconds

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("7", "7"),
        ("1.5", "1.5"),
        (email.utils.formatdate(NOW + 30, usegmt=True), "30"),
        (email.utils.formatdate(NOW - 60, usegmt=True), "0"),
        ("Sat, 01 Jan 2000 00:00:00 -0000", "Sat, 01 Jan 2000 00:00:00 -0000"),  # no zone: left for the bridge
        ("soon", "soon"),
    ],
)
def test_retry_after_in_seconds(header: str | None, expected: str | None) -> None:
    assert delta_seconds(header, now=NOW) == expected


def test_a_date_a_fraction_of_a_second_away_is_rounded_up() -> None:
    assert delta_seconds(email.utils.formatdate(NOW + 30, usegmt=True), now=NOW + 0.4) == "30"
