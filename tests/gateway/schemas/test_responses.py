"""Every Responses event name the gateway switches on is spelled as in `gateway.schemas.responses`.

The per-event dispatch tables are plain dicts keyed by strings (a typed key would cost a conversion per
request); this holds their spelling to the vocabulary instead, so a typo cannot silently drop an event.
"""

from __future__ import annotations

from typing import get_args

from gateway.bridge import chat_responses_stream, recovery
from gateway.handlers import responses
from gateway.schemas.responses import FAILED_EVENTS, OK_TERMINAL_EVENTS, TERMINAL_EVENTS, EventType

VOCABULARY = frozenset(get_args(EventType))


def test_the_stream_translator_handles_only_known_events_and_every_terminal_one() -> None:
    handled = set(chat_responses_stream._DISPATCH)
    assert handled <= VOCABULARY
    assert handled >= TERMINAL_EVENTS


def test_the_output_collector_handles_only_known_events() -> None:
    handled = set(recovery._DISPATCH)
    assert handled <= VOCABULARY
    assert not handled & TERMINAL_EVENTS  # the terminal event is the collector's caller's business


def test_the_classifying_sets_partition_the_terminal_events() -> None:
    assert TERMINAL_EVENTS <= VOCABULARY
    assert OK_TERMINAL_EVENTS | FAILED_EVENTS == TERMINAL_EVENTS
    assert not OK_TERMINAL_EVENTS & FAILED_EVENTS
    assert responses._PRELUDE <= VOCABULARY
    assert not responses._PRELUDE & TERMINAL_EVENTS
