"""The logging pipeline itself (``configure_logging``), in both formats: exceptions without frame locals,
nested redaction, bounded lines, and a console renderer that survives a logged exception."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
import structlog

from aliasgate.runtime.logs import configure_logging

SECRET = "sk-pipeline-secret-0123456789abcdef"
TOKEN = "opaque-access-token-value-9876543210"  # looks like nothing: only structure can keep it out


def _fail(body: dict[str, Any]) -> None:
    presented = SECRET
    access_token = TOKEN
    raise TypeError(f"unhashable type: 'dict' ({len(body)} fields, key of {len(presented) + len(access_token)})")


def _emit_everything() -> None:
    log = structlog.get_logger("test.pipeline")
    body = {"messages": [{"role": {}, "content": SECRET}], "api_key": TOKEN}
    try:
        _fail(body)
    except TypeError:
        log.exception("request_crashed", request_id="r1")
        logging.getLogger("aiohttp.server").exception("Error handling request from %s", "127.0.0.1")
        logging.getLogger("asyncio").error("Task exception was never retrieved", exc_info=True)
    log.warning("nested", data={"upstream": [{"headers": {"Authorization": f"Bearer {TOKEN}"}}]}, token=TOKEN)
    log.info("huge", value="x" * 5_000_000, items=list(range(1_000_000)))


@pytest.mark.parametrize("json", [True, False], ids=["json", "console"])
def test_no_locals_no_secret_bounded_lines(json: bool, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="info", json=json, cache=False)
    try:
        _emit_everything()
    finally:
        out = capsys.readouterr().out
        configure_logging(level="info", json=True, cache=False)
    assert SECRET not in out
    assert TOKEN not in out
    assert "locals" not in out
    assert "_fail" in out
    assert "TypeError: unhashable type" in out
    assert out.count("Traceback (most recent call last)") == 3
    assert len(out) < 120_000, len(out)
    if json:
        events = [orjson.loads(line) for line in out.splitlines() if line.strip()]
        assert [e["event"] for e in events] == [
            "request_crashed",
            "Error handling request from 127.0.0.1",
            "Task exception was never retrieved",
            "nested",
            "huge",
        ]
        assert all(isinstance(e.get("exception", ""), str) for e in events)
        assert events[3]["data"]["upstream"][0]["headers"]["Authorization"] == "[redacted]"
        assert events[3]["token"] == "[redacted]"
        assert all(len(line) < 40_000 for line in out.splitlines())
