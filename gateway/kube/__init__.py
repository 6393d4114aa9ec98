"""The gateway's Kubernetes access: plain aiohttp, never kubernetes_asyncio, only objects named in RBAC.

``client`` (connection, one request, one named object mirrored through
:mod:`aliasgate.runtime.kubewatch`), ``secrets`` (the credentials Secrets as a
:class:`~gateway.credentials.store.CredentialStore`), ``token_refresh`` (the replicas' shared OAuth
refresher writing back into those Secrets), ``table_source`` (the routing-table ConfigMap). Only
``gateway/__main__.py`` wires these in; the rest of the gateway sees the Protocols.
"""
