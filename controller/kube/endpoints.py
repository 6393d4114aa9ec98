"""Finds the ready gateway pods' admin servers through the gateway Service's EndpointSlices.

Used by ``controller.gateways.GatewayPoller``: each ready endpoint address with the slice's named
admin port becomes one ``http://address:port`` whose ``/status`` says which table generation it serves.
An unreadable API or no slice at all gives None, which makes Programmed Unknown rather than a guess.
"""

from __future__ import annotations

from typing import Any

from aliasgate.runtime.kubeerrors import KubeApiError
from controller import ports
from controller.kube.client import KubeClient

__all__ = ["EndpointSliceDiscovery", "StaticDiscovery", "admin_urls"]

SERVICE_LABEL = "kubernetes.io/service-name"


def admin_urls(slices: list[dict[str, Any]], port_name: str) -> list[str]:
    """``http://host:port`` of every ready endpoint with the named port (sorted, deduplicated)."""
    found: set[str] = set()
    for item in slices:
        port = next(
            (p.get("port") for p in item.get("ports") or [] if p.get("name") == port_name and p.get("port")), None
        )
        if port is None:
            continue
        for endpoint in item.get("endpoints") or []:
            conditions = endpoint.get("conditions") or {}
            if conditions.get("ready") is False or conditions.get("terminating") is True:
                continue
            for address in endpoint.get("addresses") or []:
                host = f"[{address}]" if ":" in str(address) else str(address)
                found.add(f"http://{host}:{port}")
    return sorted(found)


class EndpointSliceDiscovery(ports.GatewayDiscovery):
    def __init__(self, *, client: KubeClient, namespace: str, service: str, port_name: str) -> None:
        self._client = client
        self._namespace = namespace
        self._service = service
        self._port_name = port_name

    async def status_urls(self) -> list[str] | None:
        try:
            listing = await self._client.request(
                "GET",
                f"/apis/discovery.k8s.io/v1/namespaces/{self._namespace}/endpointslices",
                query={"labelSelector": f"{SERVICE_LABEL}={self._service}"},
            )
        except KubeApiError:
            return None
        urls = admin_urls(list(listing.get("items") or []), self._port_name)
        return urls or None


class StaticDiscovery(ports.GatewayDiscovery):
    """A fixed list of admin URLs (``--gateway-status-urls``)."""

    def __init__(self, urls: list[str]) -> None:
        self._urls = list(urls)

    async def status_urls(self) -> list[str] | None:
        return list(self._urls) or None
