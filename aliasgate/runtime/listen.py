"""Listen addresses: the one parser of ``HOST:PORT`` strings for every server either plane (or the command)
opens — gateway public and admin ports, controller admin and webhook ports, local mode, the simulator."""

from __future__ import annotations

__all__ = ["parse_listen"]


def parse_listen(value: str, *, default_host: str = "0.0.0.0") -> tuple[str, int]:
    """``"0.0.0.0:8080"`` → ``("0.0.0.0", 8080)``; ``"[::1]:80"`` → ``("::1", 80)``; ``":80"`` → all interfaces.

    Raises ValueError (naming ``HOST:PORT``) for anything else, so settings report a usage error rather
    than a traceback at bind time.
    """
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or default_host, int(port)
