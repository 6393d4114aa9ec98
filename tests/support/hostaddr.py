"""This machine's own non-loopback IPv4 address, for servers that must be reachable at an address a real
API server accepts in an EndpointSlice (it refuses loopback, link-local and unspecified ones)."""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct

__all__ = ["host_address"]

_SIOCGIFADDR = 0x8915


def _ipv4_of(interface: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", interface[:15].encode()))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def host_address() -> str:
    """The first IPv4 address of a network interface that is neither loopback nor link-local."""
    for _, interface in socket.if_nameindex():
        address = _ipv4_of(interface)
        if address is None:
            continue
        ip = ipaddress.IPv4Address(address)
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified):
            return address
    raise RuntimeError("this machine has no IPv4 address other than loopback: EndpointSlices cannot point at it")
