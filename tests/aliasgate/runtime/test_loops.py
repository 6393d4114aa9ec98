"""The event loop choice: uvloop when installed (auto), insisted on (uvloop), or the standard loop (asyncio)."""

from __future__ import annotations

import asyncio
import sys
import types

import pytest

from aliasgate.runtime import loops


async def _which() -> str:
    await asyncio.sleep(0)
    return loops.running_loop_name()


def test_auto_runs_on_uvloop_when_it_is_installed() -> None:
    pytest.importorskip("uvloop")  # a dependency: installed wherever the project is
    assert loops.run(_which(), choice="auto") == "uvloop"
    assert loops.run(_which(), choice="uvloop") == "uvloop"


def test_asyncio_always_runs_on_the_standard_loop() -> None:
    assert loops.run(_which(), choice="asyncio") == "asyncio"


def _without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # None in sys.modules: `import uvloop` raises ImportError


def test_auto_falls_back_to_the_standard_loop_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_uvloop(monkeypatch)
    assert loops.resolve("auto") == ("asyncio", None)
    assert loops.run(_which(), choice="auto") == "asyncio"


def test_insisting_on_a_missing_uvloop_is_an_error_and_the_coroutine_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_uvloop(monkeypatch)
    coroutine = _which()
    assert isinstance(coroutine, types.CoroutineType)
    with pytest.raises(loops.EventLoopUnavailableError, match="uvloop is not installed"):
        loops.run(coroutine, choice="uvloop")
    assert coroutine.cr_frame is None  # closed, so no "never awaited" warning
