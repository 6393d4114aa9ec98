"""The log-event safety processors: no locals, nested redaction, credential masking, bounded size."""

from __future__ import annotations

import sys
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from aliasgate.runtime import redaction
from aliasgate.runtime.redaction import (
    MAX_EVENT_CHARS,
    MAX_EXCEPTION_CHARS,
    REDACTED,
    is_secret_key,
    mask_credentials,
    redact_event,
    redact_value,
    render_exception,
)

SECRET = "s3cr3t-value-that-must-not-appear-0123456789"


def _failing_with_local() -> None:
    presented = SECRET  # a local the old dict_tracebacks printed
    raise ValueError(f"bad length {len(presented)}")


def _exc_info() -> tuple[type[BaseException], BaseException, Any]:
    try:
        _failing_with_local()
    except ValueError:
        info = sys.exc_info()
        assert info[0] is not None
        assert info[1] is not None
        return (info[0], info[1], info[2])
    raise AssertionError("unreachable")


def test_credential_names_in_every_spelling() -> None:
    for name in ("Authorization", "api_key", "api-key", "apiKey", "x-api-key", "access_token", "refreshToken",
                 "id_token", "token", "password", "client_secret", "secret", "Cookie"):  # fmt: skip
        assert is_secret_key(name), name
    for name in ("tokens", "max_tokens", "secret_name", "request_id", "alias", "credentials_secret_name"):
        assert not is_secret_key(name), name


def test_nested_values_are_redacted_at_any_depth() -> None:
    value = {"outer": [{"headers": {"Authorization": f"Bearer {SECRET}"}}, ({"apiKey": SECRET},)]}
    for _ in range(3):
        value = {"wrap": [value]}  # 11 levels deep
    out = redact_value(value)
    assert SECRET not in repr(out)
    assert REDACTED in repr(out)


def test_text_that_looks_like_a_credential_is_masked() -> None:
    for text in (
        f"upstream said: Authorization: Bearer {SECRET}",
        "key sk-proj-abcdefghijklmnop1234 rejected",
        'body {"api_key": "' + SECRET + '"}',
        "access_token=" + SECRET + "&x=1",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl here",
    ):
        masked = mask_credentials(text)
        assert SECRET not in masked
        assert "sk-proj-abcdefghijklmnop1234" not in masked
        assert "eyJzdWIiOiIxMjM0NTY3ODkwIn0" not in masked
        assert REDACTED in masked


def test_exception_is_rendered_without_locals() -> None:
    event = render_exception(None, "error", {"event": "x", "exc_info": _exc_info()})
    text = event["exception"]
    assert isinstance(text, str)
    assert "_failing_with_local" in text
    assert "ValueError: bad length 44" in text
    assert SECRET not in text
    assert "exc_info" not in event


def test_exc_info_true_uses_the_current_exception() -> None:
    try:
        _failing_with_local()
    except ValueError:
        event = render_exception(None, "error", {"event": "x", "exc_info": True})
    assert "ValueError" in event["exception"]
    assert SECRET not in event["exception"]


def test_exception_message_is_masked_and_capped() -> None:
    try:
        raise RuntimeError(f"echo Bearer {SECRET} " + "x" * 1_000_000)
    except RuntimeError as exc:
        event = render_exception(None, "error", {"event": "x", "exc_info": exc})
    event = redact_event(None, "error", event)
    assert SECRET not in event["exception"]
    assert len(event["exception"]) <= MAX_EXCEPTION_CHARS + 100
    assert event["exception"].rstrip().endswith("x")  # the tail (where the error is named) is kept


def test_an_event_is_bounded_however_large_its_values() -> None:
    event: dict[str, Any] = {"event": "x", "a": "y" * 10_000_000, "b": list(range(100_000)), "c": {"k": "z" * 100_000}}
    deep: Any = "leaf"
    for _ in range(5000):
        deep = [deep]
    event["deep"] = deep
    out = redact_event(None, "info", event)
    assert len(repr(out)) < MAX_EVENT_CHARS * 2


@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=50), st.just(SECRET)),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(
                st.sampled_from(["token", "api_key", "x", "nested", "Authorization"]), children, max_size=4
            ),
        ),
        max_leaves=30,
    )
)
def test_a_secret_under_a_credential_key_never_survives(value: object) -> None:
    out = redact_event(None, "info", {"event": "x", "password": SECRET, "data": {"apiKey": value}})
    assert SECRET not in repr(out)


_CREDENTIAL_PIECES = st.sampled_from(
    ["Bearer ", "BASIC\t", "api_key=", "Api-Key: ", 'access_token":"', "client-secret=", "PASSWORD: ",
     "authorization=", "sk-", "sk-proj-", "eyJ", "eyJhbGciOi.", "abcdefghijkl", "0123456789_-", ".", " ", '"', ";",
     "ba\u0131", "BA\u0130", "\u017fk-", "\u212aey", "sic", "KEY", "eyj"]
)  # fmt: skip


@given(st.lists(st.one_of(_CREDENTIAL_PIECES, st.text(max_size=12)), max_size=12).map("".join))
def test_the_quick_precheck_never_skips_text_a_mask_would_change(text: str) -> None:
    """The precheck only skips the four substitutions where none of them changes anything (Unicode case
    oddities included: dotless and dotted I, long s, the Kelvin sign)."""
    slow = text
    for pattern, replacement in redaction._MASKS:
        slow = pattern.sub(replacement, slow)
    assert mask_credentials(text) == (slow if len(text) >= redaction._MIN_MASKABLE else text)
