"""One HOST:PORT parser for every listener of both planes, the command and the simulator."""

from __future__ import annotations

import pytest

from aliasgate.runtime.listen import parse_listen


def test_host_and_port_are_split() -> None:
    assert parse_listen("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert parse_listen("127.0.0.1:0") == ("127.0.0.1", 0)


def test_bracketed_ipv6_loses_its_brackets() -> None:
    assert parse_listen("[::1]:90") == ("::1", 90)


def test_an_empty_host_means_the_default_host() -> None:
    assert parse_listen(":70") == ("0.0.0.0", 70)
    assert parse_listen(":70", default_host="127.0.0.1") == ("127.0.0.1", 70)


@pytest.mark.parametrize("value", ["8080", "host:", "host:http", "host:-1", "host:65536", ""])
def test_anything_else_is_a_value_error_naming_the_expected_form(value: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(value)
