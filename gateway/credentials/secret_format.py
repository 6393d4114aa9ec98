"""A credentials Secret's format, read and written here only: flat keys, a Codex CLI ``auth.json``, OAuth tokens.

Reading: a Secret's keys (files in a mounted folder, or the API object's base64 ``data`` and
``stringData``, :func:`secret_values`) are flat (``apiKey``, ``accessToken``, ``accountId``,
``refreshToken``, ``expiresAt``, ``idToken``); an ``auth.json`` key (the Codex CLI's file:
``tokens.access_token``, ``tokens.account_id``, ``tokens.refresh_token``, ``tokens.id_token``,
``OPENAI_API_KEY``, ``expires_at``) is replaced by those names by :func:`with_auth_json_expanded`,
flat keys winning; both stores (a folder, the API) hand out the same keys for the same Secret. :func:`tokens_from_keys` then reads the OAuth :class:`Tokens`.

Writing: :func:`secret_data_with` puts refreshed tokens back into a Secret's ``data`` in the format
it already had (flat keys, or the ``auth.json`` document updated in place).

Pure: no I/O, no logging. Token values appear only in Secret data, never in text this module returns.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "AUTH_JSON_KEY",
    "Tokens",
    "jwt_account_id",
    "jwt_claims",
    "jwt_expiry",
    "keys_from_auth_json",
    "parse_expiry",
    "rfc3339",
    "secret_data_with",
    "secret_values",
    "tokens_from_keys",
    "with_auth_json_expanded",
]

AUTH_JSON_KEY = "auth.json"

_AUTH_JSON_TOKENS = (
    ("access_token", "accessToken"),
    ("account_id", "accountId"),
    ("refresh_token", "refreshToken"),
    ("id_token", "idToken"),
)


def keys_from_auth_json(data: bytes) -> dict[str, str]:
    """Map a Codex CLI ``auth.json`` to the store's key names; unknown shapes give nothing."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(doc, dict):
        return {}
    keys: dict[str, str] = {}
    tokens = doc.get("tokens")
    if isinstance(tokens, dict):
        for src, dst in _AUTH_JSON_TOKENS:
            value = tokens.get(src)
            if isinstance(value, str) and value:
                keys[dst] = value
    api_key = doc.get("OPENAI_API_KEY")
    if isinstance(api_key, str) and api_key:
        keys["apiKey"] = api_key
    expires = doc.get("expires_at")
    if isinstance(expires, int | float):
        keys["expiresAt"] = str(expires)
    return keys


def with_auth_json_expanded(keys: Mapping[str, str]) -> dict[str, str]:
    """``keys`` with an ``auth.json`` key replaced by the flat keys it holds (flat keys already there win)."""
    expanded = dict(keys)
    document = expanded.pop(AUTH_JSON_KEY, None)
    if document is not None:
        for key, value in keys_from_auth_json(document.encode("utf-8")).items():
            expanded.setdefault(key, value)
    return expanded


def secret_values(secret: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """A Secret object's ``data`` (base64) and ``stringData`` as text, ``auth.json`` expanded; and the
    names of the keys that were not base64 UTF-8 (skipped: the caller may name them, never show them)."""
    values: dict[str, str] = {}
    undecodable: list[str] = []
    for key, encoded in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(encoded), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            undecodable.append(str(key))
    for key, text in (secret.get("stringData") or {}).items():
        values[str(key)] = str(text)
    return with_auth_json_expanded(values), undecodable


def jwt_claims(token: str) -> dict[str, object]:
    """The claims of a JWT, unverified: we only read facts about our own token (expiry, account)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT."""
    exp = jwt_claims(token).get("exp")
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def jwt_account_id(token: str) -> str | None:
    """``chatgpt_account_id`` from the ``https://api.openai.com/auth`` claim (docs/gateway.md, "Providers and credentials"), when the Secret has none."""
    auth = jwt_claims(token).get("https://api.openai.com/auth")
    account = auth.get("chatgpt_account_id") if isinstance(auth, dict) else None
    return account if isinstance(account, str) and account else None


def parse_expiry(value: str | None) -> float | None:
    """``expiresAt`` as epoch seconds or RFC 3339."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def rfc3339(epoch: float) -> str:
    """Seconds since the epoch as ``2026-01-02T03:04:05Z``."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Tokens:
    """One generation of OAuth tokens for one account. ``repr`` hides the values."""

    access_token: str
    account_id: str
    refresh_token: str | None = None
    expires_at: float | None = None
    id_token: str | None = None

    def __repr__(self) -> str:
        return f"Tokens(account_id={self.account_id!r}, expires_at={self.expires_at!r}, values=<hidden>)"


def tokens_from_keys(keys: Mapping[str, str] | None) -> Tokens | None:
    """The tokens of a credentials Secret (flat keys; stores expand ``auth.json`` into them), None if unusable."""
    if keys is None:
        return None
    access = keys.get("accessToken")
    if not access:
        return None
    account = keys.get("accountId") or jwt_account_id(access)
    if not account:
        return None
    return Tokens(
        access_token=access,
        account_id=account,
        refresh_token=keys.get("refreshToken") or None,
        expires_at=parse_expiry(keys.get("expiresAt")) or jwt_expiry(access),
        id_token=keys.get("idToken") or None,
    )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _unb64(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _expires_text(previous: str | None, expires_at: float) -> str:
    """``expiresAt`` in the style the Secret used (epoch seconds or RFC 3339; RFC 3339 when new)."""
    if previous is not None:
        try:
            float(previous)
        except ValueError:
            pass
        else:
            return str(int(expires_at))
    return rfc3339(expires_at)


def secret_data_with(data: Mapping[str, str], tokens: Tokens, *, now: float) -> dict[str, str] | None:
    """A Secret's base64 ``data`` with ``tokens`` written where the old ones were; None if no token key is there.

    Flat keys win when present (as they do when reading); otherwise the ``auth.json`` document is
    updated in place (``tokens.*``, ``last_refresh``, and ``expires_at`` when it had one), keeping
    every other field."""
    updated = dict(data)
    if "accessToken" in data:
        updated["accessToken"] = _b64(tokens.access_token)
        if tokens.refresh_token:
            updated["refreshToken"] = _b64(tokens.refresh_token)
        if tokens.expires_at is not None:
            previous = _unb64(data["expiresAt"]) if "expiresAt" in data else None
            updated["expiresAt"] = _b64(_expires_text(previous, tokens.expires_at))
        if tokens.id_token and "idToken" in data:
            updated["idToken"] = _b64(tokens.id_token)
        return updated
    raw = _unb64(data[AUTH_JSON_KEY]) if AUTH_JSON_KEY in data else None
    try:
        doc = orjson.loads(raw) if raw is not None else None
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("tokens"), dict):
        return None
    doc["tokens"]["access_token"] = tokens.access_token
    if tokens.refresh_token:
        doc["tokens"]["refresh_token"] = tokens.refresh_token
    if tokens.id_token:
        doc["tokens"]["id_token"] = tokens.id_token
    doc["last_refresh"] = datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
    if "expires_at" in doc and tokens.expires_at is not None:
        doc["expires_at"] = int(tokens.expires_at)
    updated[AUTH_JSON_KEY] = base64.b64encode(orjson.dumps(doc, option=orjson.OPT_INDENT_2)).decode("ascii")
    return updated
