"""One logging pipeline with secret redaction, used by the gateway, the controller and the command."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog

import controller.__main__ as controller_main
from aliasgate.runtime.logs import SECRET_KEYS, configure_logging
from controller.settings import ControllerSettings


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    configure_logging(level="info", json=True, cache=False)


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_structlog_and_stdlib_lines_are_json_with_every_secret_key_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level="info", json=True, cache=False)
    secrets = {key: f"sk-{key}-value" for key in SECRET_KEYS}
    structlog.get_logger("test").info("with_secrets", **secrets, alias="a")
    logging.getLogger("aiohttp.client").warning("stdlib %s", "line", extra={"token": "sk-stdlib"})
    out, err = capsys.readouterr()
    assert err == ""
    first, second = json_lines(out)
    assert first["event"] == "with_secrets"
    assert first["alias"] == "a"
    assert all(first[key] == "[redacted]" for key in SECRET_KEYS)
    assert second["event"] == "stdlib line"
    assert second["logger"] == "aiohttp.client"
    assert "sk-" not in out


def test_stderr_stream_and_level_filtering(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="warning", json=True, cache=False, stream="stderr")
    log = structlog.get_logger("test")
    log.info("dropped")
    log.warning("kept", password="hunter2")
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = json_lines(err)
    assert line["event"] == "kept"
    assert line["level"] == "warning"
    assert line["password"] == "[redacted]"


def test_python_m_controller_logs_through_the_redacting_pipeline_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The controller used to build its own pipeline without redaction; its entry point now uses the shared one."""
    seen: list[ControllerSettings] = []

    async def fake_run(settings: ControllerSettings) -> None:
        seen.append(settings)
        controller_main.log.info("controller_started", identity=settings.identity, token="sk-live-123")
        logging.getLogger("kubernetes_asyncio").info("stdlib from a client library, api_key=%s", "masked-by-caller")

    monkeypatch.setattr(controller_main, "run", fake_run)
    assert controller_main.main(["--identity", "ctl-0", "--log-level", "info"]) == 0
    out, err = capsys.readouterr()
    assert seen[0].identity == "ctl-0"
    assert out == ""
    started, stdlib = json_lines(err)
    assert started == {**started, "event": "controller_started", "identity": "ctl-0", "token": "[redacted]"}
    assert "timestamp" in started
    assert stdlib["logger"] == "kubernetes_asyncio"
    assert "sk-live-123" not in err


def test_timestamps_are_iso_utc_with_microseconds_and_follow_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from aliasgate.runtime import logs

    stamper = logs.IsoUtcStamper()
    clock = iter([1_767_225_599.25, 1_767_225_599.5, 1_767_225_600.000007])
    monkeypatch.setattr("aliasgate.runtime.logs.time.time", lambda: next(clock))
    stamps = [stamper(None, "info", {})["timestamp"] for _ in range(3)]
    assert stamps == ["2025-12-31T23:59:59.250000Z", "2025-12-31T23:59:59.500000Z", "2026-01-01T00:00:00.000007Z"]


def test_json_lines_carry_the_same_fields_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="info", json=True, cache=False)
    structlog.get_logger("test").info("request_completed", status=200, tokens={"prompt": 3})
    (line,) = json_lines(capsys.readouterr().out)
    assert list(line) == ["status", "tokens", "event", "level", "timestamp"]
    assert line["tokens"] == {"prompt": 3}
    assert str(line["timestamp"]).endswith("Z")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_lines_are_coloured_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    configure_logging(level="info", json=False, cache=False)  # stdout is pytest's capture: not a terminal
    structlog.get_logger("test").info("plain_line", alias="a")
    out = capsys.readouterr().out
    assert "plain_line" in out
    assert "\x1b[" not in out

    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    configure_logging(level="info", json=False, cache=False)
    structlog.get_logger("test").info("coloured_line")
    assert "\x1b[" in terminal.getvalue()

    monkeypatch.setenv("NO_COLOR", "1")
    terminal.truncate(0)
    configure_logging(level="info", json=False, cache=False)
    structlog.get_logger("test").info("no_colour_wanted")
    assert "no_colour_wanted" in terminal.getvalue()
    assert "\x1b[" not in terminal.getvalue()
