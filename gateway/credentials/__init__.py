"""Upstream credentials: what a store offers, the Secret format, and the I/O-free half of token refresh.

``store`` (the :class:`~gateway.credentials.store.CredentialStore` Protocol and the empty store),
``files`` (Secrets mounted as folders), ``secret_format`` (a credentials Secret's keys and the Codex
``auth.json``, read and written), ``refresh`` (who refreshes OAuth tokens: lock, decision, the local
refresher). The Kubernetes implementations are in :mod:`gateway.kube`, which may import this package;
this package never imports it.
"""
